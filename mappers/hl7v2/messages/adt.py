"""ADT (admit, discharge, transfer) events: the Patient from PID (with PD1, NK1), the Encounter from PV1 and
PV2 with the status the event means, Conditions from DG1 and AllergyIntolerances from AL1. A40 merges: the
patient named in MRG-1 becomes inactive and points at the surviving one (Patient.link replaced-by)."""

from __future__ import annotations

from mappers.base import RecordError
from mappers.hl7v2 import datatypes, segments
from mappers.hl7v2.message import Message

# trigger event -> the Encounter status it states (None: the event is about the person only)
EVENTS = {"A01": "in-progress", "A02": "in-progress", "A03": "finished", "A04": "in-progress", "A08": None,
          "A11": "cancelled", "A13": "in-progress", "A28": None, "A31": None, "A40": None}


def map_message(message: Message, context: segments.Context) -> list[dict]:
    event = message.type.split("^")[1]
    patient = segments.patient(message, context)
    if event == "A40":
        return [patient, *_merged(message, context, patient)]
    found = [patient]
    status = EVENTS[event]
    if event == "A08" and message.first("PV1") is not None:
        status = "finished" if message.require("PV1").value(45) else "in-progress"
    if status is not None:
        found.append(segments.encounter(message, context, status))
    found += [segments.condition(dg1, message, context) for dg1 in message.all("DG1")]
    found += [segments.allergy(al1, message, context) for al1 in message.all("AL1")]
    return found


def _merged(message: Message, context: segments.Context, survivor: dict) -> list[dict]:
    mrg = message.require("MRG")
    prior = mrg.components(1)
    if not prior or not prior[0]:
        raise RecordError("MRG-1 names no prior patient identifier", "MRG-1")
    authority = prior[3].split("&")[0] if len(prior) > 3 else ""
    prior_id = context.id("Patient", authority, prior[0])
    survivor["link"] = [{"other": {"reference": f"Patient/{prior_id}"}, "type": "replaces"}]
    merged = {"resourceType": "Patient", "id": prior_id, "active": False,
              "identifier": [datatypes.identifier(prior, context.source_system)],
              "link": [{"other": {"reference": f"Patient/{survivor['id']}"}, "type": "replaced-by"}]}
    return [merged]
