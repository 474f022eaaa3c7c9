"""A table of diagnoses -> Condition (https://hl7.org/fhir/R4/condition.html), the code normalized through the
terminology package (the source's coding kept, the canonical one added).

A primary or secondary flag (주/부 진단) becomes a second category coding from this server's
diagnosis-rank code system: R4 has rank only on Encounter.diagnosis, which a diagnosis row cannot reach.
"""

from mappers.tabular.record import Record, compact
from mappers.tabular.values import DATETIME, DIAGNOSIS, TEXT, code, reference

KIND = "diagnoses"
RESOURCE_TYPE = "Condition"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
RANK = "http://fhir-server.kr/CodeSystem/diagnosis-rank"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ELEMENTS = {
    "subject": reference("patients"), "encounter": reference("visits"), "code": DIAGNOSIS,
    "onsetDateTime": DATETIME, "abatementDateTime": DATETIME, "recordedDate": DATETIME,
    "rank": code("primary", "secondary"),
    "clinicalStatus": code("active", "recurrence", "relapse", "inactive", "remission", "resolved"),
    "verificationStatus": code("unconfirmed", "provisional", "differential", "confirmed", "refuted",
                               "entered-in-error"),
    "note": TEXT,
}
REQUIRED = ("subject", "code")


def build(record: Record) -> dict:
    get = record.get
    category = [{"system": CATEGORY, "code": "encounter-diagnosis", "display": "Encounter Diagnosis"}]
    if record.has("rank"):
        category.append({"system": RANK, "code": get("rank")})
    clinical = get("clinicalStatus") or ("resolved" if record.has("abatementDateTime") else "active")
    verification = get("verificationStatus")
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": clinical}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]} if verification else None,
        "category": [{"coding": category}], "code": get("code"), "subject": get("subject"),
        "encounter": get("encounter"), "onsetDateTime": get("onsetDateTime"),
        "abatementDateTime": get("abatementDateTime"), "recordedDate": get("recordedDate"),
        "note": [{"text": get("note")}] if record.has("note") else None,
    })
