"""Answering a cohort question on this node: count over the search backend, then the privacy policy, then
the steward's log. Only protected aggregates leave this module; the exact counts go to the log.

Guards, checked against the requester's earlier answers in the same write transaction as the log:
- a repeat (same members, same breakdowns) gets the same answer and costs nothing;
- a cohort that differs from an earlier one by fewer than ``k`` patients (but not none) is refused:
  the difference of two answers would describe those few patients;
- an answer that would overspend the requester's privacy budget is refused.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from fhir_server.cohorts import BREAKDOWNS, privacy
from fhir_server.cohorts.definition import Definition, load
from fhir_server.cohorts.privacy import Cell, Noise
from fhir_server.errors import BadRequest, PolicyRefused
from fhir_server.search.backends.sql_cohorts import AGE_BANDS, GENDER_CODES, Compiled
from fhir_server.storage import cohort_queries
from terminology.systems import icd10


LOCAL_REQUESTER = "local"  # who asks when authentication is off: everyone shares one budget


@dataclass(frozen=True)
class Question:
    definition: Definition
    breakdowns: tuple[str, ...] = ()
    age_at: datetime.date = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).date())

    def key(self) -> str:
        """What, besides the members, decides the answer: two questions with the same key and members are one."""
        return json.dumps({"breakdowns": sorted(self.breakdowns), "ageAt": self.age_at.isoformat()})


@dataclass(frozen=True)
class Answer:
    hospital: str
    k: int
    total: Cell
    threshold: str | None  # the only answer under the ultra-rare threshold rule
    breakdowns: dict[str, list[Cell]]
    rules: tuple[str, ...]
    epsilon: float  # spent by this answer
    budget_left: float

    def released(self) -> dict:
        """What the requester sees: no exact count of a suppressed cell."""
        def shown(cell: Cell):
            if cell.released is not None:
                return cell.released
            # Only a small cell is said to be small: one hidden to protect another holds at least k.
            return privacy.SECONDARY if cell.why == "secondary" else f"<{self.k}"
        return {"hospital": self.hospital, "k": self.k, "total": self.threshold or shown(self.total),
                "breakdowns": {name: {cell.label: shown(cell) for cell in cells}
                               for name, cells in self.breakdowns.items()}, "rules": list(self.rules)}


def question(context, source, breakdowns: list[str], age_at: str | None) -> Question:
    """The question as asked, validated; BadRequest naming what is wrong."""
    unknown = [name for name in breakdowns if name not in BREAKDOWNS]
    if unknown:
        raise BadRequest(f"`breakdown` `{unknown[0]}` is not one of {', '.join(BREAKDOWNS)}.", expression=("breakdown",))
    definition = load(source, context.terminology)
    if "year" in breakdowns and definition.index is None:
        raise BadRequest("`breakdown` `year` is the year of the index event; the definition has no `index`.",
                         expression=("breakdown",))
    asked = Question(definition, tuple(dict.fromkeys(breakdowns)))
    if age_at:
        try:
            asked = Question(definition, asked.breakdowns, datetime.date.fromisoformat(age_at))
        except ValueError:
            raise BadRequest(f"`ageAt` `{age_at}` is not a date (YYYY-MM-DD).", expression=("ageAt",)) from None
    return asked


def members(context, connection, definition: Definition) -> Compiled:
    """The definition compiled over this node's search index, on ``connection``."""
    context.search.refresh(connection)
    return Compiled(connection, lambda resource_type, params: context.search.parse(resource_type, params, strict=True),
                    definition)


def count(context, asked: Question, requester: str | None) -> Answer:
    """The protected answer to ``asked``; PolicyRefused when a guard declines. Every outcome is logged."""
    settings, requester = context.settings, requester or LOCAL_REQUESTER
    with context.reading() as connection:
        compiled = members(context, connection, asked.definition)
        ids = compiled.member_ids()
        exact = _exact_breakdowns(compiled, asked, len(ids), settings.hospital_name)
    k, threshold_only, rules = _rules(asked, settings)
    digest, hashes = cohort_queries.members_digest(ids), cohort_queries.member_hashes(ids)
    noise = Noise(secret_key(Path(settings.cohort_noise_key_file)), digest, settings.cohort_epsilon)
    answer = _protect(settings.hospital_name, exact, k, noise, threshold_only, asked, rules)
    cost = settings.cohort_epsilon * (1 + len(answer.breakdowns))
    entry = dict(requester=requester, definition=asked.definition.normalized(), question=asked.key(), exact=exact,
                 digest=digest, members=hashes)
    with context.repository.database.write() as connection:
        spent = cohort_queries.spent(connection, requester)
        if cohort_queries.asked_before(connection, requester, digest, asked.key()):
            cost, refusal = 0.0, None  # the same answer again: nothing new is revealed
        else:
            refusal = _differencing(cohort_queries.close_cohorts(connection, requester, digest, len(ids), k), hashes, k) \
                or _overspent(spent, cost, settings.cohort_budget)
        if refusal:
            cohort_queries.record(connection, outcome="refused", rule=refusal, released={}, epsilon=0.0, **entry)
        else:
            answer = dataclasses.replace(answer, epsilon=cost, budget_left=max(settings.cohort_budget - spent - cost, 0.0))
            cohort_queries.record(connection, outcome="answered", rule="; ".join(answer.rules),
                                  released=answer.released(), epsilon=cost, **entry)
    if refusal:
        raise PolicyRefused(refusal)
    return answer


def _rules(asked: Question, settings) -> tuple[int, bool, tuple[str, ...]]:
    """(k, whether only the threshold is answered, the rules that apply, as the answer states them)."""
    k = settings.cohort_k
    rare = _ultra_rare(asked.definition, settings.cohort_ultra_rare)
    if rare is None:
        return k, False, (f"minimum cell size k={k}; secondary suppression; noise seeded by the members",)
    if settings.cohort_ultra_rare_rule == "threshold":
        rules = [f"ultra-rare diagnosis `{rare}`: answered only as fewer than k or at least k (k={k})"]
        if asked.breakdowns:
            rules.append("no breakdowns under the ultra-rare threshold rule")
        return k, True, tuple(rules)
    k = settings.cohort_ultra_rare_k
    return k, False, (f"ultra-rare diagnosis `{rare}`: minimum cell size raised to k={k}; secondary suppression; "
                      "noise seeded by the members",)


def _ultra_rare(definition: Definition, listed: str) -> str | None:
    """The first code or value set of the definition's diagnoses that the policy lists as ultra-rare."""
    ultra_rare = set(listed.split())
    named = (part for event in definition.events() if event.kind == "diagnosis"
             for codes in event.codes for part in codes.split(","))
    return next((part for part in named if part in ultra_rare), None)


def _exact_breakdowns(compiled: Compiled, asked: Question, total: int, hospital: str) -> dict:
    found = {"total": total}
    for name in asked.breakdowns:
        if name == "sex":
            found[name] = compiled.by_sex()
        elif name == "age-band":
            found[name] = compiled.by_age_band(asked.age_at)
        elif name == "age-sex":  # labelled as released, so the steward's log reads the same
            pyramid = compiled.by_age_band_and_sex(asked.age_at)
            found[name] = {f"{band}|{sex}": count for (band, sex), count in pyramid.items()}
        elif name == "year":
            found[name] = compiled.by_index_year()
        elif name == "diagnosis":
            by_category = compiled.by_diagnosis(icd10.URL)
            without = total - sum(by_category.values())
            found[name] = {**by_category, **({"none": without} if without else {})}
        else:
            found[name] = {hospital: total}
    return found


_FIXED = {"sex": GENDER_CODES, "age-band": AGE_BANDS}


def _protect(hospital: str, exact: dict, k: int, noise: Noise, threshold_only: bool, asked: Question,
             rules: tuple[str, ...]) -> Answer:
    total = privacy.protect_total(exact["total"], k, noise)
    if threshold_only:
        return Answer(hospital, k, total, privacy.threshold(exact["total"], k), {}, rules, 0.0, 0.0)
    breakdowns = {name: _protect_breakdown(name, exact[name], k, noise, total.released is None)
                  for name in asked.breakdowns}
    return Answer(hospital, k, total, None, breakdowns, rules, 0.0, 0.0)


def _protect_breakdown(name: str, exact: dict[str, int], k: int, noise: Noise, total_suppressed: bool) -> list[Cell]:
    if name == "age-sex":
        cells = {tuple(label.split("|", 1)): count for label, count in exact.items()}
        return privacy.protect_table(name, cells, AGE_BANDS, GENDER_CODES, k, noise, total_suppressed=total_suppressed)
    return privacy.protect_breakdown(name, exact, k, noise, fixed=_FIXED.get(name, ()), total_suppressed=total_suppressed)


def _differencing(close: list[frozenset[int]], members: frozenset[int], k: int) -> str | None:
    if any(0 < len(earlier ^ members) < k for earlier in close):
        return (f"This cohort differs from one of your earlier cohorts by fewer than {k} patients; comparing "
                "the two answers would describe those patients, so it is not answered.")
    return None


def _overspent(spent: float, cost: float, budget: float) -> str | None:
    if spent + cost > budget + 1e-9:
        return (f"This answer would cost {cost:g} of your privacy budget, which has {max(budget - spent, 0):g} of "
                f"{budget:g} left; ask the data steward for a new budget.")
    return None


def secret_key(path: Path) -> bytes:
    """A secret key kept in its own file (the noise key, a project's pseudonym key), created (32 random bytes,
    readable by its owner only) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first
            return path.read_bytes()
        with os.fdopen(descriptor, "wb") as file:
            file.write(os.urandom(32))
    return path.read_bytes()
