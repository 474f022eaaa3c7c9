"""drug_exposure -> MedicationRequest for prescriptions written, MedicationStatement for everything else
(dispensings, administrations, claims, patient reports), as the drug type concept says."""

from mappers import numbers

TABLE, KEY = "drug_exposure", "drug_exposure_id"
PRESCRIBED = {"38000177", "32838", "32833"}  # prescription written, EHR prescription, EHR order
UCUM = "http://unitsofmeasure.org"


def resource_type(row: dict) -> str:
    return "MedicationRequest" if row.get("drug_type_concept_id") in PRESCRIBED else "MedicationStatement"


def build(row: dict, context) -> dict:
    kind = resource_type(row)
    start = context.moment(row, "drug_exposure_start_date", "drug_exposure_start_datetime")
    end = context.moment(row, "drug_exposure_end_date", "drug_exposure_end_datetime")
    period = {key: value for key, value in (("start", start), ("end", end)) if value} or None
    dosage = {key: value for key, value in (("text", row.get("sig") or None),
                                            ("route", context.concept(row, "route", required=False))) if value}
    resource = {"resourceType": kind, "id": context.id(kind, row[KEY]), "status": "completed" if end else "active",
                "medicationCodeableConcept": context.concept(row, "drug"), "subject": context.patient(row)}
    if kind == "MedicationRequest":
        days, quantity, refills = (numbers.decimal(row.get(column), column)
                                   for column in ("days_supply", "quantity", "refills"))
        dispense = {"quantity": {"value": quantity} if quantity else None,
                    "expectedSupplyDuration": {"value": days, "unit": "days", "system": UCUM, "code": "d"}
                    if days else None,
                    "numberOfRepeatsAllowed": int(refills) if refills else None, "validityPeriod": period}
        fields = {"intent": "order", "authoredOn": start, "encounter": context.encounter(row),
                  "dosageInstruction": [dosage] if dosage else None,
                  "dispenseRequest": {key: value for key, value in dispense.items() if value is not None} or None}
    else:  # MedicationStatement names the visit `context` and the dosage `dosage`
        fields = {"effectivePeriod": period, "context": context.encounter(row), "dosage": [dosage] if dosage else None}
    resource.update((key, value) for key, value in fields.items() if value is not None)
    return resource

