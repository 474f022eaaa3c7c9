"""VXU^V04 (vaccination record update): an Immunization per RXA."""

from __future__ import annotations

from mappers.base import RecordError
from mappers import numbers
from mappers.hl7v2 import datatypes, segments
from mappers.hl7v2.message import Message

COMPLETION = {"CP": "completed", "PA": "completed", "RE": "not-done", "NA": "not-done", "": "completed"}


def map_message(message: Message, context: segments.Context) -> list[dict]:
    found = [segments.patient(message, context)]
    rxas = message.all("RXA")
    if not rxas:
        raise RecordError("a VXU^V04 message needs an RXA segment", "RXA")
    found += [_immunization(message, context, rxa) for rxa in rxas]
    return found


def _immunization(message: Message, context: segments.Context, rxa) -> dict:
    vaccine = datatypes.concept(rxa.components(5), context.source_system)
    if vaccine is None:
        raise RecordError("RXA-5 names no vaccine", "RXA-5")
    given = context.when(rxa, 3)
    if given is None:
        raise RecordError("RXA-3 holds no administration time", "RXA-3")
    completion = rxa.value(20)
    if completion not in COMPLETION:
        raise RecordError(f"RXA-20 `{completion}` is not a completion status of HL7 table 0322", "RXA-20")
    code = (vaccine.get("coding") or [{}])[0].get("code", "")
    status = "entered-in-error" if rxa.value(21) == "D" else COMPLETION[completion]
    immunization = {"resourceType": "Immunization", "id": context.id("Immunization", *segments.patient_key(message),
                                                                          rxa.value(3), code),
                    "status": status, "vaccineCode": vaccine, "patient": segments.patient_reference(message, context),
                    "occurrenceDateTime": given, "primarySource": True}
    amount = rxa.value(6)
    if amount and amount != "999":  # 999: amount unknown
        dose = {"value": numbers.decimal(amount, "RXA-6")}
        units = rxa.components(7)
        if units and units[0]:
            dose.update(unit=units[1] or units[0] if len(units) > 1 else units[0])
            if len(units) > 2 and units[2] in ("UCUM", "ANS+"):
                dose.update(system="http://unitsofmeasure.org", code=units[0])
        immunization["doseQuantity"] = dose
    lot = rxa.value(15)
    if lot:
        immunization["lotNumber"] = lot
    encounter = segments.encounter_reference(message, context)
    if encounter:
        immunization["encounter"] = encounter
    return immunization
