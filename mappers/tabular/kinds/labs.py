"""A table of laboratory results (or vital signs) -> Observation (https://hl7.org/fhir/R4/observation.html).

The result cell decides the value's type, as in the EMR: `12.3` and `<0.1` are Quantities (with the
comparator), `양성` or `positive` is a string.
"""

from mappers.tabular.record import Record, compact, concept
from mappers.tabular.values import CODING, DATETIME, DECIMAL, RESULT, TEXT, UNIT, code, reference

KIND = "labs"
RESOURCE_TYPE = "Observation"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ELEMENTS = {
    "subject": reference("patients"), "encounter": reference("visits"), "code": CODING,
    "category": code("laboratory", "vital-signs", "social-history", "survey", "exam", "imaging", "procedure",
                     "therapy", "activity"),
    "status": code("registered", "preliminary", "final", "amended", "corrected", "cancelled", "entered-in-error",
                   "unknown"),
    "effectiveDateTime": DATETIME, "value": RESULT, "unit": UNIT, "referenceRange.low": DECIMAL,
    "referenceRange.high": DECIMAL, "referenceRange.text": TEXT,
    "interpretation": code("L", "H", "N", "A", "LL", "HH", "AA", "POS", "NEG", "IND"),
    "note": TEXT,
}
REQUIRED = ("subject", "code")


def build(record: Record) -> dict:
    get = record.get
    unit = get("unit") or {}
    value = get("value")
    quantity = isinstance(value, tuple)
    if quantity:
        comparator, number = value
        value_quantity = compact({"value": number, "comparator": comparator, **unit})
    bounds = {bound: {"value": get(f"referenceRange.{bound}"), **unit}
              for bound in ("low", "high") if record.has(f"referenceRange.{bound}")}
    reference_range = compact({**bounds, "text": get("referenceRange.text")})
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id, "status": get("status") or "final",
        "category": [{"coding": [{"system": CATEGORY, "code": get("category")}]}] if record.has("category") else None,
        "code": concept(get("code")),
        "subject": get("subject"), "encounter": get("encounter"), "effectiveDateTime": get("effectiveDateTime"),
        "valueQuantity": value_quantity if quantity else None,
        "valueString": value if value is not None and not quantity else None,
        "interpretation": [{"coding": [{"system": INTERPRETATION, "code": get("interpretation")}]}]
        if record.has("interpretation") else None,
        "note": [{"text": get("note")}] if record.has("note") else None,
        "referenceRange": [reference_range] if reference_range else None,
    })
