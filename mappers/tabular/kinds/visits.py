"""A table of visits (outpatient, inpatient, emergency) -> Encounter (https://hl7.org/fhir/R4/encounter.html)."""

from mappers.tabular.record import Record, compact, concept, period
from mappers.tabular.values import CODING, DATETIME, IDENTIFIER, code, reference

KIND = "visits"
RESOURCE_TYPE = "Encounter"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
# Encounter.class is a Coding from v3 ActEncounterCode (https://hl7.org/fhir/R4/v3/ActEncounterCode/vs.html).
CLASSES = {"AMB": "ambulatory", "EMER": "emergency", "FLD": "field", "HH": "home health", "IMP": "inpatient encounter",
           "ACUTE": "inpatient acute", "NONAC": "inpatient non-acute", "OBSENC": "observation encounter",
           "PRENC": "pre-admission", "SS": "short stay", "VR": "virtual"}
ELEMENTS = {
    "identifier": IDENTIFIER, "subject": reference("patients"), "class": code(*CLASSES),
    "status": code("planned", "arrived", "triaged", "in-progress", "onleave", "finished", "cancelled",
                   "entered-in-error", "unknown"),
    "type": CODING, "serviceType": CODING, "period.start": DATETIME, "period.end": DATETIME, "reasonCode": CODING,
}
REQUIRED = ("subject", "class")


def build(record: Record) -> dict:
    get = record.get
    class_ = get("class")
    # A visit that has ended is finished; one without an end may be a record of an old visit, so unknown.
    status = get("status") or ("finished" if record.has("period.end") else "unknown")
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id,
        "identifier": [get("identifier")] if record.has("identifier") else None, "status": status,
        "class": {"system": ACT_CODE, "code": class_, "display": CLASSES[class_]},
        "type": [concept(get("type"))] if record.has("type") else None,
        "serviceType": concept(get("serviceType")), "subject": get("subject"),
        "period": period(get("period.start"), get("period.end")),
        "reasonCode": [concept(get("reasonCode"))] if record.has("reasonCode") else None,
    })
