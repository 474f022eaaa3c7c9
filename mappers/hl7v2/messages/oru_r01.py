"""ORU^R01 (unsolicited observation results): per OBR a DiagnosticReport listing the Observations of its
OBX segments (NTE after an OBX is its note; NTE after the OBR the report's conclusion)."""

from __future__ import annotations

from mappers.base import RecordError
from mappers.hl7v2 import datatypes, segments
from mappers.hl7v2.message import Message


def map_message(message: Message, context: segments.Context) -> list[dict]:
    found = [segments.patient(message, context)]
    obrs = message.all("OBR")
    if not obrs:
        raise RecordError("an ORU^R01 message needs an OBR segment", "OBR")
    for position, obr in enumerate(obrs):
        end = message.segments.index(obrs[position + 1]) if position + 1 < len(obrs) else len(message.segments)
        group = message.segments[message.segments.index(obr) + 1:end]
        found += _report(message, context, obr, [segment for segment in group if segment.name == "OBX"])
    return found


def _report(message: Message, context: segments.Context, obr, obxs) -> list[dict]:
    key = segments.order_key(message, obr)
    code = datatypes.concept(obr.components(4), context.source_system)
    if code is None:
        raise RecordError("OBR-4 names no test", "OBR-4")
    effective = context.when(obr, 7)
    observations = [segments.observation(obx, segments.notes_after(message, obx), message, context, key, effective)
                    for obx in obxs]
    status = segments.RESULT_STATUS.get(obr.value(25) or "F")
    if status is None:
        raise RecordError(f"OBR-25 `{obr.value(25)}` is not a result status of HL7 table 0123", "OBR-25")
    report = {"resourceType": "DiagnosticReport", "id": context.id("DiagnosticReport", key), "status": status,
              "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB"}]}],
              "code": code, "subject": segments.patient_reference(message, context),
              "identifier": [{"system": f"{context.source_system}/order", "value": key}],
              "result": [{"reference": f"Observation/{observation['id']}"} for observation in observations]}
    encounter = segments.encounter_reference(message, context)
    if encounter:
        report["encounter"] = encounter
    if effective:
        report["effectiveDateTime"] = effective
    conclusion = segments.notes_after(message, obr)
    if conclusion:
        report["conclusion"] = "\n".join(conclusion)
    if not report["result"]:
        del report["result"]
    return [*observations, report]
