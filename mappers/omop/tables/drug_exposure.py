"""drug_exposure -> MedicationRequest for prescriptions written, MedicationStatement for everything else
(dispensings, administrations, claims, patient reports), as the drug type concept says."""

from mappers.base import RecordError

TABLE, KEY = "drug_exposure", "drug_exposure_id"
PRESCRIBED = {"38000177", "32838", "32833"}  # prescription written, EHR prescription, EHR order
UCUM = "http://unitsofmeasure.org"


def resource_type(row: dict) -> str:
    return "MedicationRequest" if row.get("drug_type_concept_id") in PRESCRIBED else "MedicationStatement"


def build(row: dict, context) -> dict:
    kind = resource_type(row)
    start = context.moment(row, "drug_exposure_start_date", "drug_exposure_start_datetime")
    end = context.moment(row, "drug_exposure_end_date", "drug_exposure_end_datetime")
    medication = context.concept(row, "drug")
    resource = {"resourceType": kind, "id": context.id(kind, row[KEY]), "subject": context.patient(row),
                "medicationCodeableConcept": medication}
    encounter = context.encounter(row)
    dosage = {key: value for key, value in (("text", row.get("sig") or None),
                                            ("route", context.concept(row, "route", required=False))) if value}
    days = _number(row, "days_supply")
    quantity = _number(row, "quantity")
    period = {key: value for key, value in (("start", start), ("end", end)) if value}
    if kind == "MedicationRequest":
        resource.update(status="completed" if end else "active", intent="order")
        if start:
            resource["authoredOn"] = start
        dispense = {}
        if quantity:
            dispense["quantity"] = {"value": quantity}
        if days:
            dispense["expectedSupplyDuration"] = {"value": days, "unit": "days", "system": UCUM, "code": "d"}
        if row.get("refills") not in (None, "", "0"):
            dispense["numberOfRepeatsAllowed"] = int(_number(row, "refills"))
        if period:
            dispense["validityPeriod"] = period
        if dispense:
            resource["dispenseRequest"] = dispense
        if encounter:
            resource["encounter"] = encounter
        if dosage:
            resource["dosageInstruction"] = [dosage]
    else:
        resource["status"] = "completed" if end else "active"
        if period:
            resource["effectivePeriod"] = period
        if encounter:
            resource["context"] = encounter
        if dosage:
            resource["dosage"] = [dosage]
    return resource


def _number(row: dict, column: str):
    from decimal import Decimal, InvalidOperation

    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise RecordError(f"`{text}` is not a number", column) from None
    return int(number) if number == number.to_integral_value() else number
