"""A table of prescriptions -> MedicationRequest (https://hl7.org/fhir/R4/medicationrequest.html).

Korean prescriptions carry a dose, times per day and days supplied (1회 투여량, 1일 투여횟수, 총 투여일수):
the dose and frequency become the dosage, the days the expected supply duration.
"""

from mappers.tabular.record import Record, compact, concept, period
from mappers.tabular.values import CODING, DATETIME, DECIMAL, INTEGER, TEXT, UNIT, code, reference

KIND = "prescriptions"
RESOURCE_TYPE = "MedicationRequest"
UCUM = "http://unitsofmeasure.org"
ELEMENTS = {
    "subject": reference("patients"), "encounter": reference("visits"), "medication": CODING,
    "status": code("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"),
    "intent": code("proposal", "plan", "order", "original-order", "reflex-order", "filler-order", "instance-order",
                   "option"),
    "authoredOn": DATETIME, "period.start": DATETIME, "period.end": DATETIME,
    "dosage.text": TEXT, "dosage.dose": DECIMAL, "dosage.unit": UNIT, "dosage.timesPerDay": INTEGER,
    "dosage.route": CODING, "days": INTEGER, "quantity": DECIMAL, "reasonCode": CODING,
}
REQUIRED = ("subject", "medication")


def build(record: Record) -> dict:
    get = record.get
    dose = {"value": get("dosage.dose"), **(get("dosage.unit") or {})} if record.has("dosage.dose") else None
    times = get("dosage.timesPerDay")
    dosage = compact({"text": get("dosage.text"), "route": concept(get("dosage.route")),
                      "timing": {"repeat": {"frequency": times, "period": 1, "periodUnit": "d"}} if times else None,
                      "doseAndRate": [{"doseQuantity": dose}] if dose else None})
    days = get("days")
    dispense = compact({
        "validityPeriod": period(get("period.start"), get("period.end")),
        "quantity": {"value": get("quantity")} if record.has("quantity") else None,
        "expectedSupplyDuration": {"value": days, "unit": "days", "system": UCUM, "code": "d"} if days else None,
    })
    # Without a status in the export, a prescription whose period ended is completed, else still active.
    status = get("status") or ("completed" if record.has("period.end") else "active")
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id, "status": status, "intent": get("intent") or "order",
        "medicationCodeableConcept": concept(get("medication")), "subject": get("subject"),
        "encounter": get("encounter"), "authoredOn": get("authoredOn") or get("period.start"),
        "reasonCode": [concept(get("reasonCode"))] if record.has("reasonCode") else None,
        "dosageInstruction": [dosage] if dosage else None, "dispenseRequest": dispense or None,
    })
