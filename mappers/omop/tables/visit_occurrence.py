"""visit_occurrence -> Encounter (https://hl7.org/fhir/R4/encounter.html); the visit concept gives the class."""

TABLE, RESOURCE_TYPE, KEY = "visit_occurrence", "Encounter", "visit_occurrence_id"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# OMOP visit concepts -> v3 ActEncounterCode
CLASSES = {"9201": ("IMP", "inpatient encounter"), "9202": ("AMB", "ambulatory"), "9203": ("EMER", "emergency"),
           "262": ("EMER", "emergency"), "581476": ("HH", "home health"), "5083": ("VR", "virtual"),
           "8717": ("IMP", "inpatient encounter"), "581385": ("AMB", "ambulatory")}


def build(row: dict, context) -> dict:
    code, display = CLASSES.get(row.get("visit_concept_id", ""), ("AMB", "ambulatory"))
    start = context.moment(row, "visit_start_date", "visit_start_datetime")
    end = context.moment(row, "visit_end_date", "visit_end_datetime")
    encounter = {"resourceType": RESOURCE_TYPE, "id": context.id(RESOURCE_TYPE, row[KEY]),
                 "status": "finished" if end else "unknown",
                 "class": {"system": ACT_CODE, "code": code, "display": display},
                 "subject": context.patient(row)}
    kind = context.concept(row, "visit", required=False)
    if kind:
        encounter["type"] = [kind]
    period = {key: value for key, value in (("start", start), ("end", end)) if value}
    if period:
        encounter["period"] = period
    return encounter
