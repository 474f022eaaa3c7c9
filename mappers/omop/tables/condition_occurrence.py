"""condition_occurrence -> Condition (https://hl7.org/fhir/R4/condition.html); ICD-10 and KCD source codes
are normalized."""

TABLE, RESOURCE_TYPE, KEY = "condition_occurrence", "Condition", "condition_occurrence_id"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


def build(row: dict, context) -> dict:
    onset = context.moment(row, "condition_start_date", "condition_start_datetime")
    abatement = context.moment(row, "condition_end_date", "condition_end_datetime")
    condition = {"resourceType": RESOURCE_TYPE, "id": context.id(RESOURCE_TYPE, row[KEY]),
                 "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "resolved" if abatement else "active"}]},
                 "category": [{"coding": [{"system": CATEGORY, "code": "encounter-diagnosis"}]}],
                 "code": context.concept(row, "condition", diagnosis=True), "subject": context.patient(row)}
    encounter = context.encounter(row)
    for key, value in (("encounter", encounter), ("onsetDateTime", onset), ("abatementDateTime", abatement)):
        if value:
            condition[key] = value
    return condition
