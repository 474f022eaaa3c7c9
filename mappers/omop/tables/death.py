"""death -> the Patient's deceasedDateTime (applied when the person is mapped) and, when the row names a
cause, an Observation of the cause of death (LOINC 79378-6)."""

TABLE, RESOURCE_TYPE, KEY = "death", "Observation", "person_id"


def build(row: dict, context) -> dict | None:
    cause = context.concept(row, "cause", required=False)
    if cause is None:
        return None
    observation = {"resourceType": RESOURCE_TYPE, "id": context.id("Observation/death", row[KEY]), "status": "final",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "79378-6", "display": "Cause of death"}]},
                   "subject": context.patient(row), "valueCodeableConcept": cause}
    effective = context.moment(row, "death_date", "death_datetime")
    if effective:
        observation["effectiveDateTime"] = effective
    return observation
