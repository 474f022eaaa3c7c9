"""person -> Patient (https://hl7.org/fhir/R4/patient.html). A death row gives deceasedDateTime."""

from mappers.base import RecordError

TABLE, RESOURCE_TYPE, KEY = "person", "Patient", "person_id"
GENDERS = {"8507": "male", "8532": "female", "8551": "unknown", "8521": "other", "8570": "other"}


def build(row: dict, context) -> dict:
    person = row["person_id"]
    birth = _birth_date(row)
    patient = {"resourceType": RESOURCE_TYPE, "id": context.id(RESOURCE_TYPE, person),
               "identifier": [{"system": f"{context.source_system}/person_id", "value": person}],
               "gender": GENDERS.get(row.get("gender_concept_id", ""), "unknown")}
    if row.get("person_source_value"):
        patient["identifier"].append({"system": f"{context.source_system}/person_source_value",
                                      "value": row["person_source_value"]})
    if birth:
        patient["birthDate"] = birth
    if person in context.deaths:
        day, stamp = context.deaths[person]
        patient["deceasedDateTime"] = context.moment({"d": day, "t": stamp}, "d", "t")
    return patient


def _birth_date(row: dict) -> str | None:
    year, month, day = (row.get(name, "").strip() for name in ("year_of_birth", "month_of_birth", "day_of_birth"))
    if not year:
        return None
    try:
        parts = [int(year)] + [int(part) for part in (month, day) if part]
    except ValueError:
        raise RecordError(f"the birth date {year}-{month}-{day} is not a date", "year_of_birth") from None
    if not 1800 <= parts[0] <= 2200 or (len(parts) > 1 and not 1 <= parts[1] <= 12):
        raise RecordError(f"the birth date {year}-{month}-{day} is not a date", "year_of_birth")
    if len(parts) == 3:
        from datetime import date

        try:
            return date(*parts).isoformat()
        except ValueError:
            raise RecordError(f"the birth date {year}-{month}-{day} is not a date", "day_of_birth") from None
    return "-".join(f"{part:04d}" if index == 0 else f"{part:02d}" for index, part in enumerate(parts))
