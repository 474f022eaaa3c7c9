"""Cohorts on the SQL backend: a cohort definition compiled to one SELECT of patient ids over the index
tables, and the breakdowns of a cohort counted by GROUP BY; no resource is read.

Each event is the FHIR searches that find it (``cohorts/definition.py``), through the same conditions as a
search, followed to the patient by the `patient` reference parameter. Dates are the index's milliseconds
(UTC): a time window counts whole UTC days from the index event (its earliest date), and an age is whole
years between two UTC dates, computed from YYYYMMDD numbers as (at - birth) // 10000.
"""

from __future__ import annotations

import datetime

from sqlalchemy import Connection, and_, case, func, literal, or_, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Integer

from fhir_server.cohorts.criteria import EVENT_TYPES, Age, All, Any, Event, Not, Sex
from fhir_server.cohorts.definition import Definition
from fhir_server.search.backends import sql, sql_terminology
from fhir_server.search.query import AllOf
from fhir_server.storage.tables import resources, search_date, search_reference, search_token

DAY = 86_400_000
_EPOCH_SHIFT = 80_000 * DAY  # keeps day numbers positive back to the 1750s, so integer division floors
GENDER_CODES = ("male", "female", "other", "unknown")


class _YearMonthDay(FunctionElement):
    """YYYYMMDD (an integer) of a time in milliseconds since the epoch, in UTC."""
    type = Integer()
    inherit_cache = True


@compiles(_YearMonthDay, "sqlite")
def _sqlite_ymd(element, compiler, **kw):
    return f"CAST(strftime('%Y%m%d', ({compiler.process(element.clauses, **kw)}) / 1000.0, 'unixepoch') AS INTEGER)"


@compiles(_YearMonthDay, "postgresql")
def _postgresql_ymd(element, compiler, **kw):
    return (f"CAST(to_char(to_timestamp(({compiler.process(element.clauses, **kw)}) / 1000.0) AT TIME ZONE 'UTC', "
            "'YYYYMMDD') AS INTEGER)")


def ymd(date: datetime.date) -> int:
    return date.year * 10_000 + date.month * 100 + date.day


class Compiled:
    """A definition as SQL: ``members`` selects the ids of the patients in the cohort."""

    def __init__(self, connection: Connection, parse, definition: Definition):
        """``parse(resource_type, params)`` is the search engine's parser (strict: unknown parameters are errors)."""
        self._connection, self._parse, self.definition = connection, parse, definition
        self.index = self._index_dates(definition.index) if definition.index else None
        live = _live_patients()
        members = select(live.c.id).where(live.c.id.in_(self._patients(definition.criteria)))
        if self.index is not None:  # only patients who have the index event
            members = members.where(live.c.id.in_(select(self.index.c.patient)))
        self.members = members  # each patient once: events select a patient for each resource

    def _matching(self, event: Event):
        """(resource type, SELECT of the ids of resources that match) for each of the event's searches."""
        found = []
        for search in event.searches:
            query = self._parse(search.resource_type, list(search.params))
            sql_terminology.check(self._connection, query)
            found.append((search.resource_type, sql._matching_ids(AllOf(tuple(query.criteria)), search.resource_type)))
        return found

    def _index_dates(self, event: Event):
        """patient, at: each patient's earliest index event, in milliseconds."""
        parts = []
        for resource_type, matching in self._matching(event):
            reference, date = search_reference.alias(), search_date.alias()
            parts.append(select(reference.c.target_id.label("patient"), date.c.low.label("at"))
                         .join(date, _dated(date, reference, resource_type))
                         .where(*_patient_link(reference, resource_type), reference.c.resource_id.in_(matching)))
        events = (parts[0] if len(parts) == 1 else union(*parts)).subquery()
        return select(events.c.patient, func.min(events.c.at).label("at")).group_by(events.c.patient).cte("index_events")

    def _patients(self, node):
        """A SELECT of the ids of the patients ``node`` holds for."""
        if isinstance(node, All):
            live = _live_patients()
            return select(live.c.id).where(*(live.c.id.in_(self._patients(part)) for part in node.parts))
        if isinstance(node, Any):
            return union(*(self._patients(part) for part in node.parts))
        if isinstance(node, Not):
            live = _live_patients()
            return select(live.c.id).where(live.c.id.not_in(self._patients(node.part)))
        if isinstance(node, Sex):
            return _with_sex(node.value)
        if isinstance(node, Age):
            return self._aged(node)
        return self._having(node)

    def _having(self, event: Event):
        parts = []
        for resource_type, matching in self._matching(event):
            reference = search_reference.alias()
            statement = select(reference.c.target_id).where(*_patient_link(reference, resource_type),
                                                            reference.c.resource_id.in_(matching))
            if event.window is not None:
                date = search_date.alias()
                day, index_day = _day(date.c.low), _day(self.index.c.at)
                statement = statement.join(date, _dated(date, reference, resource_type)).join(
                    self.index, self.index.c.patient == reference.c.target_id).where(
                    day >= index_day + event.window.from_days, day <= index_day + event.window.to_days)
            parts.append(statement)
        return parts[0] if len(parts) == 1 else union(*parts)

    def _aged(self, age: Age):
        birth = search_date.alias()
        statement = select(birth.c.resource_id).where(birth.c.resource_type == "Patient", birth.c.param == "birthdate")
        if age.at is None:
            statement = statement.join(self.index, self.index.c.patient == birth.c.resource_id)
            at = _YearMonthDay(self.index.c.at)
        else:
            at = literal(ymd(age.at))
        years = (at - _YearMonthDay(birth.c.low)) // 10_000
        if age.minimum is not None:
            statement = statement.where(years >= age.minimum)
        if age.maximum is not None:
            statement = statement.where(years <= age.maximum)
        return statement

    def count(self) -> int:
        return self._connection.execute(select(func.count()).select_from(self.members.subquery())).scalar_one()

    def member_ids(self) -> list[str]:
        cohort = self.members.subquery()
        return list(self._connection.execute(select(cohort.c[0]).order_by(cohort.c[0])).scalars())

    def by_sex(self) -> dict[str, int]:
        cohort = self.members.subquery()
        gender, code = _gender()
        statement = (select(code, func.count()).select_from(cohort)
                     .outerjoin(gender, _of_patient(gender, "gender", cohort)))
        return _counted(self._connection.execute(statement.group_by(code)))

    def by_age_band(self, at: datetime.date) -> dict[str, int]:
        cohort = self.members.subquery()
        birth, band = _age_band(at)
        statement = (select(band, func.count()).select_from(cohort)
                     .outerjoin(birth, _of_patient(birth, "birthdate", cohort)))
        return {_band_name(row[0]): row[1] for row in self._connection.execute(statement.group_by(band))}

    def by_age_band_and_sex(self, at: datetime.date) -> dict[tuple[str, str], int]:
        """The age-sex pyramid: patients per (age band, sex)."""
        cohort = self.members.subquery()
        (birth, band), (gender, code) = _age_band(at), _gender()
        statement = (select(band, code, func.count()).select_from(cohort)
                     .outerjoin(birth, _of_patient(birth, "birthdate", cohort))
                     .outerjoin(gender, _of_patient(gender, "gender", cohort)))
        rows = self._connection.execute(statement.group_by(band, code))
        return {(_band_name(band_number), sex): count for band_number, sex, count in rows}

    def by_index_year(self) -> dict[str, int]:
        cohort = self.members.subquery()
        year = _YearMonthDay(self.index.c.at) // 10_000
        statement = (select(year, func.count()).select_from(cohort)
                     .join(self.index, self.index.c.patient == cohort.c[0]).group_by(year))
        return _counted(self._connection.execute(statement))

    def by_diagnosis(self, system: str) -> dict[str, int]:
        """Each patient under the 3-character category of their earliest Condition coded in ``system`` that one
        of the definition's diagnoses matches (any Condition, if it has none); ties go to the smallest code."""
        cohort = self.members.subquery()
        reference, code, onset = search_reference.alias(), search_token.alias(), search_date.alias()
        diagnoses = [matching for event in self.definition.events() if event.kind == "diagnosis"
                     for _, matching in self._matching(event)]
        first = func.row_number().over(partition_by=reference.c.target_id,
                                       order_by=(onset.c.low.asc().nulls_last(), code.c.code))
        ranked = (select(reference.c.target_id.label("patient"), func.substr(code.c.code, 1, 3).label("category"),
                         first.label("rank"))
                  .join(code, and_(code.c.resource_type == "Condition", code.c.param == "code",
                                   code.c.resource_id == reference.c.resource_id, code.c.system == system))
                  .outerjoin(onset, _dated(onset, reference, "Condition"))
                  .where(*_patient_link(reference, "Condition"), reference.c.target_id.in_(select(cohort.c[0])),
                         *([reference.c.resource_id.in_(union(*diagnoses) if len(diagnoses) > 1 else diagnoses[0])]
                           if diagnoses else []))).subquery()
        statement = (select(ranked.c.category, func.count()).where(ranked.c.rank == 1).group_by(ranked.c.category))
        return _counted(self._connection.execute(statement))


def _gender():
    gender = search_token.alias()
    return gender, func.coalesce(gender.c.code, "unknown")


def _age_band(at: datetime.date):
    """The birthdate rows and each patient's decade of age at ``at``: -1 without a birthdate, -2 not yet born."""
    birth = search_date.alias()
    decade = (literal(ymd(at)) - _YearMonthDay(birth.c.low)) // 100_000
    return birth, case((birth.c.low.is_(None), -1), (decade >= 9, 9), (decade < 0, -2), else_=decade)


def _of_patient(index, param: str, cohort):
    """Join the Patient's ``param`` rows of an index table to the cohort's patient ids."""
    return and_(index.c.resource_type == "Patient", index.c.param == param, index.c.resource_id == cohort.c[0])


def _counted(rows) -> dict[str, int]:
    return {str(row[0]): row[1] for row in rows}


def _band_name(decade: int) -> str:
    if decade == -1:
        return "unknown"
    if decade == -2:
        return "unborn"
    return "90+" if decade >= 9 else f"{decade * 10}-{decade * 10 + 9}"


AGE_BANDS = tuple(_band_name(decade) for decade in range(10)) + ("unknown",)


def _live_patients():
    live = resources.alias()
    return select(live.c.id).where(live.c.resource_type == "Patient", live.c.deleted.is_(False)).subquery()


def _patient_link(reference, resource_type: str) -> tuple:
    """Conditions on a search_reference alias: the type's reference to its patient."""
    return (reference.c.resource_type == resource_type, reference.c.param == EVENT_TYPES[resource_type][0],
            reference.c.target_type == "Patient")


def _dated(date, reference, resource_type: str):
    """Join condition: the event's date rows, for its type's date parameter."""
    return and_(date.c.resource_type == resource_type, date.c.resource_id == reference.c.resource_id,
                date.c.param == EVENT_TYPES[resource_type][1])


def _day(milliseconds):
    return (milliseconds + _EPOCH_SHIFT) // DAY


def _with_sex(value: str):
    gender = search_token.alias()
    has = select(gender.c.resource_id).where(gender.c.resource_type == "Patient", gender.c.param == "gender")
    if value != "unknown":
        return has.where(gender.c.code == value)
    live = _live_patients()
    # A patient without a recorded gender counts as unknown, as FHIR's own `unknown` does.
    return select(live.c.id).where(or_(live.c.id.in_(has.where(gender.c.code == "unknown")),
                                       live.c.id.not_in(has)))
