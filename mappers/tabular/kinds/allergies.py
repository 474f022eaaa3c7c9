"""A table of allergies and intolerances -> AllergyIntolerance (https://hl7.org/fhir/R4/allergyintolerance.html)."""

from mappers.tabular.record import Record, compact, concept
from mappers.tabular.values import CODING, DATETIME, TEXT, code, reference

KIND = "allergies"
RESOURCE_TYPE = "AllergyIntolerance"
CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
ELEMENTS = {
    "subject": reference("patients"), "encounter": reference("visits"), "code": CODING,
    "clinicalStatus": code("active", "inactive", "resolved"),
    "verificationStatus": code("unconfirmed", "confirmed", "refuted", "entered-in-error"),
    "type": code("allergy", "intolerance"), "category": code("food", "medication", "environment", "biologic"),
    "criticality": code("low", "high", "unable-to-assess"), "onsetDateTime": DATETIME, "recordedDate": DATETIME,
    "reaction.manifestation": CODING, "reaction.severity": code("mild", "moderate", "severe"),
    # Exports such as Synthea's carry a second reaction in its own columns.
    "reaction2.manifestation": CODING, "reaction2.severity": code("mild", "moderate", "severe"), "note": TEXT,
}
REQUIRED = ("subject", "code")


def build(record: Record) -> dict:
    get = record.get
    # R4 requires a manifestation in every reaction: a severity alone is not a reaction.
    reactions = [compact({"manifestation": [concept(get(f"{name}.manifestation"))], "severity": get(f"{name}.severity")})
                 for name in ("reaction", "reaction2") if record.has(f"{name}.manifestation")]
    verification = get("verificationStatus") or "confirmed"
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id,
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": get("clinicalStatus") or "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": verification}]},
        "type": get("type"), "category": [get("category")] if record.has("category") else None,
        "criticality": get("criticality"), "code": concept(get("code")), "patient": get("subject"),
        "encounter": get("encounter"), "onsetDateTime": get("onsetDateTime"), "recordedDate": get("recordedDate"),
        "reaction": reactions,
        "note": [{"text": get("note")}] if record.has("note") else None,
    })
