"""The segments the supported messages carry, as FHIR resources, after HL7's v2-to-FHIR segment maps:
PID (with PD1 and NK1) -> Patient, PV1 and PV2 -> Encounter, DG1 -> Condition, AL1 -> AllergyIntolerance,
OBR -> DiagnosticReport or ServiceRequest (with ORC), OBX -> Observation, RXA -> Immunization, NTE -> notes."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from terminology.normalize import Normalizer

from mappers import ids
from mappers.base import RecordError
from mappers.diagnoses import diagnosis_concept
from mappers import numbers
from mappers.hl7v2 import datatypes
from mappers.hl7v2.message import Message, Segment

GENDERS = {"M": "male", "F": "female", "O": "other", "A": "other", "U": "unknown", "N": "unknown"}
CLASSES = {"I": ("IMP", "inpatient encounter"), "O": ("AMB", "ambulatory"), "E": ("EMER", "emergency"),
           "P": ("PRENC", "pre-admission"), "R": ("AMB", "ambulatory"), "B": ("AMB", "ambulatory"),
           "C": ("AMB", "ambulatory"), "N": ("AMB", "ambulatory")}
RESULT_STATUS = {"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary",
                 "I": "registered", "X": "cancelled", "D": "entered-in-error", "W": "entered-in-error",
                 "A": "amended", "U": "final"}
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@dataclass
class Context:
    source_system: str
    zone: ZoneInfo
    normalizer: Normalizer

    def id(self, resource_type: str, *key: str) -> str:
        return ids.resource_id(self.source_system, resource_type, *key)

    def when(self, segment: Segment, field: int) -> str | None:
        return datatypes.date_time(segment.value(field), self.zone, f"{segment.name}-{field}")


def patient_key(message: Message) -> tuple[str, str]:
    pid = message.require("PID")
    for repetition in pid.repetitions(3):
        if repetition and repetition[0]:
            authority = repetition[3].split("&")[0] if len(repetition) > 3 else ""
            return authority, repetition[0]
    raise RecordError("PID-3 holds no patient identifier", "PID-3")


def patient_reference(message: Message, context: Context) -> dict:
    return {"reference": f"Patient/{context.id('Patient', *patient_key(message))}"}


def patient(message: Message, context: Context) -> dict:
    pid = message.require("PID")
    resource = {"resourceType": "Patient", "id": context.id("Patient", *patient_key(message)), "active": True}
    identifiers = [found for found in (datatypes.identifier(rep, context.source_system) for rep in pid.repetitions(3))
                   if found]
    names = [found for found in (datatypes.human_name(rep) for rep in pid.repetitions(5)) if found]
    telecom = [found for number in (13, 14) for found in
               (datatypes.contact_point(rep) for rep in pid.repetitions(number)) if found]
    addresses = [found for found in (datatypes.address(rep) for rep in pid.repetitions(11)) if found]
    birth = context.when(pid, 7)
    sex = pid.value(8)
    if sex and sex not in GENDERS:
        raise RecordError(f"PID-8 `{sex}` is not an administrative sex of HL7 table 0001 (M, F, O, U, A, N)", "PID-8")
    fields = {"identifier": identifiers, "name": names, "telecom": telecom, "gender": GENDERS.get(sex),
              "birthDate": birth[:10] if birth else None, "address": addresses}
    death = context.when(pid, 29)
    if death:
        fields["deceasedDateTime"] = death
    elif pid.value(30) == "Y":
        fields["deceasedBoolean"] = True
    contacts = [contact for contact in (_contact(segment, context) for segment in message.all("NK1")) if contact]
    fields["contact"] = contacts
    pd1 = message.first("PD1")
    if pd1 and pd1.components(4):
        doctor = pd1.components(4)
        display = " ".join(part for part in (doctor[1:3] if len(doctor) > 2 else []) if part) or doctor[0]
        fields["generalPractitioner"] = [{"display": display}]
    resource.update((key, value) for key, value in fields.items() if value)
    return resource


def _contact(nk1: Segment, context: Context) -> dict | None:
    contact = {}
    names = [found for found in (datatypes.human_name(rep) for rep in nk1.repetitions(2)) if found]
    if names:
        contact["name"] = names[0]
    relationship = datatypes.concept(nk1.components(3), context.source_system)
    if relationship:
        contact["relationship"] = [relationship]
    telecom = [found for number in (5, 6) for found in (datatypes.contact_point(rep) for rep in nk1.repetitions(number))
               if found]
    if telecom:
        contact["telecom"] = telecom
    return contact or None


def encounter_key(message: Message) -> str:
    pv1 = message.require("PV1")
    return pv1.value(19) or f"message/{message.control_id}"


def encounter_reference(message: Message, context: Context) -> dict | None:
    if message.first("PV1") is None:
        return None
    return {"reference": f"Encounter/{context.id('Encounter', encounter_key(message))}"}


def encounter(message: Message, context: Context, status: str) -> dict:
    pv1 = message.require("PV1")
    kind = pv1.value(2)
    if kind not in CLASSES:
        raise RecordError(f"PV1-2 `{kind}` is not a patient class of HL7 table 0004 (I, O, E, P, R, B)", "PV1-2")
    code, display = CLASSES[kind]
    resource = {"resourceType": "Encounter", "id": context.id("Encounter", encounter_key(message)), "status": status,
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": code, "display": display},
                "subject": patient_reference(message, context)}
    visit = pv1.components(19)
    if visit and visit[0]:
        resource["identifier"] = [datatypes.identifier(visit, context.source_system)]
    service = pv1.value(10)
    if service:
        resource["serviceType"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0069",
                                               "code": service}]}
    start, end = context.when(pv1, 44), context.when(pv1, 45)
    period = {key: value for key, value in (("start", start), ("end", end if status != "in-progress" else None))
              if value}
    if period:
        resource["period"] = period
    location = [part for part in pv1.components(3)[:3] if part]
    if location:
        resource["location"] = [{"location": {"display": " ".join(location)}}]
    pv2 = message.first("PV2")
    reason = datatypes.concept(pv2.components(3), context.source_system) if pv2 else None
    if reason:
        resource["reasonCode"] = [reason]
    return resource


def condition(dg1: Segment, message: Message, context: Context) -> dict:
    parts = dg1.components(3)
    if not parts or not parts[0]:
        raise RecordError("DG1-3 holds no diagnosis code", "DG1-3")
    system = datatypes.system_url(parts[2], context.source_system) if len(parts) > 2 and parts[2] else None
    code = diagnosis_concept(context.normalizer, parts[0], system, parts[1] if len(parts) > 1 else None,
                             field="DG1-3")
    owner = encounter_key(message) if message.first("PV1") else "/".join(patient_key(message))
    resource = {"resourceType": "Condition", "id": context.id("Condition", owner, parts[0].strip()),
                "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                          "code": "encounter-diagnosis"}]}],
                "code": code, "subject": patient_reference(message, context)}
    kind = dg1.value(6)
    if kind:
        resource["category"][0]["coding"].append({"system": "http://terminology.hl7.org/CodeSystem/v2-0052",
                                                  "code": kind})
    found = encounter_reference(message, context)
    if found:
        resource["encounter"] = found
    onset = context.when(dg1, 5)
    if onset:
        resource["onsetDateTime"] = onset
    return resource


def allergy(al1: Segment, message: Message, context: Context) -> dict:
    allergen = datatypes.concept(al1.components(3), context.source_system)
    if allergen is None:
        raise RecordError("AL1-3 names no allergen", "AL1-3")
    kind = al1.value(2)
    category = {"DA": "medication", "FA": "food", "EA": "environment", "LA": "environment", "AA": "environment",
                "MA": None, "PA": "environment"}.get(kind)
    key = (allergen.get("coding") or [{"code": allergen.get("text", "")}])[0].get("code", "")
    resource = {"resourceType": "AllergyIntolerance", "id": context.id("AllergyIntolerance", *patient_key(message), key),
                "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                               "allergyintolerance-clinical", "code": "active"}]},
                "code": allergen, "patient": patient_reference(message, context)}
    if kind:
        resource["type"] = "intolerance" if kind == "MA" else "allergy"
    if category:
        resource["category"] = [category]
    reactions = [text for rep in al1.repetitions(5) for text in rep[:1] if text]
    severity = {"SV": "severe", "MO": "moderate", "MI": "mild"}.get(al1.value(4))
    if reactions:
        reaction = {"manifestation": [{"text": text} for text in reactions]}
        if severity:
            reaction["severity"] = severity
        resource["reaction"] = [reaction]
    recorded = context.when(al1, 6)
    if recorded:
        resource["recordedDate"] = recorded
    return resource


def order_key(message: Message, obr: Segment, orc: Segment | None = None) -> str:
    """The filler's order number, else the placer's, else the message and OBR set id."""
    for segment, field in ((obr, 3), (orc, 3), (obr, 2), (orc, 2)):
        if segment is not None and segment.value(field):
            return segment.value(field)
    return f"message/{message.control_id}/{obr.value(1) or '1'}"


def observation(obx: Segment, notes: list[str], message: Message, context: Context, report_key: str,
                default_time: str | None) -> dict:
    code = datatypes.concept(obx.components(3), context.source_system)
    if code is None:
        raise RecordError("OBX-3 names no observation", "OBX-3")
    first_code = (code.get("coding") or [{}])[0].get("code", code.get("text", ""))
    status = RESULT_STATUS.get(obx.value(11) or "F")
    if status is None:
        raise RecordError(f"OBX-11 `{obx.value(11)}` is not a result status of HL7 table 0085", "OBX-11")
    resource = {"resourceType": "Observation",
                "id": context.id("Observation", report_key, first_code, obx.value(4) or obx.value(1)),
                "status": status, "code": code, "subject": patient_reference(message, context)}
    found = encounter_reference(message, context)
    if found:
        resource["encounter"] = found
    effective = context.when(obx, 14) or default_time
    if effective:
        resource["effectiveDateTime"] = effective
    resource.update(_value(obx, context))
    low_high = obx.value(7)
    if low_high:
        resource["referenceRange"] = [_range(low_high, obx)]
    flags = [rep[0] for rep in obx.repetitions(8) if rep and rep[0]]
    if flags:
        resource["interpretation"] = [{"coding": [{"system": INTERPRETATION, "code": flag}]} for flag in flags]
    if notes:
        resource["note"] = [{"text": note} for note in notes]
    return resource


def _value(obx: Segment, context: Context) -> dict:
    kind, where = obx.value(2), "OBX-5"
    raw = obx.components(5)
    if not raw or not any(raw):
        return {}
    units = obx.components(6)
    unit = {}
    if units and units[0]:
        unit = {"unit": units[1] if len(units) > 1 and units[1] else units[0]}
        if len(units) > 2 and units[2] in ("UCUM", "ANS+"):
            unit.update(system="http://unitsofmeasure.org", code=units[0])
    if kind == "NM":
        return {"valueQuantity": {"value": numbers.decimal(raw[0], where), **unit}}
    if kind == "SN":
        comparator, first = (raw + ["", ""])[:2]
        if comparator in ("<", ">", "<=", ">="):
            return {"valueQuantity": {"value": numbers.decimal(first, where), "comparator": comparator, **unit}}
        return {"valueQuantity": {"value": numbers.decimal(first, where), **unit}}
    if kind in ("CWE", "CE", "CNE"):
        return {"valueCodeableConcept": datatypes.concept(raw, context.source_system)}
    if kind in ("DT", "DTM", "TS"):
        return {"valueDateTime": datatypes.date_time(raw[0], context.zone, where)}
    if kind in ("ST", "TX", "FT", ""):
        return {"valueString": obx.delimiters.component.join(raw)}
    raise RecordError(f"OBX-2 value type `{kind}` is not mapped (NM, SN, ST, TX, FT, CWE, CE, DT, DTM are)", "OBX-2")


def _range(text: str, obx: Segment) -> dict:
    low, separator, high = text.partition("-")
    try:
        if separator and low.strip() and high.strip():
            return {"low": {"value": numbers.decimal(low.strip(), "OBX-7")},
                    "high": {"value": numbers.decimal(high.strip(), "OBX-7")}}
    except RecordError:
        pass
    return {"text": text}


def notes_after(message: Message, segment: Segment) -> list[str]:
    """The NTE segments right after ``segment``: their comments (NTE-3)."""
    found, index = [], message.segments.index(segment) + 1
    while index < len(message.segments) and message.segments[index].name == "NTE":
        text = message.segments[index].value(3)
        if text:
            found.append(text)
        index += 1
    return found
