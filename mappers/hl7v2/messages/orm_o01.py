"""ORM^O01 (general order): per ORC a ServiceRequest, its test from the OBR that follows, its status from the
order control code (ORC-1) or, for a status change, the order status (ORC-5)."""

from __future__ import annotations

from mappers.base import RecordError
from mappers.hl7v2 import datatypes, segments
from mappers.hl7v2.message import Message

CONTROL = {"NW": "active", "XO": "active", "RP": "active", "SN": "active", "CA": "revoked", "OC": "revoked",
           "DC": "revoked", "OD": "revoked", "HD": "on-hold", "OH": "on-hold", "RL": "active"}
ORDER_STATUS = {"CM": "completed", "IP": "active", "SC": "active", "CA": "revoked", "DC": "revoked",
                "HD": "on-hold", "A": "active"}


def map_message(message: Message, context: segments.Context) -> list[dict]:
    found = [segments.patient(message, context)]
    orcs = message.all("ORC")
    if not orcs:
        raise RecordError("an ORM^O01 message needs an ORC segment", "ORC")
    for orc in orcs:
        index = message.segments.index(orc)
        obr = next((segment for segment in message.segments[index + 1:] if segment.name in ("OBR", "ORC")), None)
        if obr is None or obr.name != "OBR":
            raise RecordError("each ORC of an ORM^O01 needs its OBR", "OBR")
        found.append(_request(message, context, orc, obr))
    return found


def _request(message: Message, context: segments.Context, orc, obr) -> dict:
    control = orc.value(1)
    status = ORDER_STATUS.get(orc.value(5)) if control == "SC" else CONTROL.get(control)
    if status is None:
        raise RecordError(f"ORC-1 `{control}` is not an order control code this server maps", "ORC-1")
    code = datatypes.concept(obr.components(4), context.source_system)
    if code is None:
        raise RecordError("OBR-4 names no test", "OBR-4")
    key = segments.order_key(message, obr, orc)
    request = {"resourceType": "ServiceRequest", "id": context.id("ServiceRequest", key), "status": status,
               "intent": "order", "code": code, "subject": segments.patient_reference(message, context),
               "identifier": [{"system": f"{context.source_system}/order", "value": key}]}
    encounter = segments.encounter_reference(message, context)
    if encounter:
        request["encounter"] = encounter
    authored = context.when(orc, 9)
    if authored:
        request["authoredOn"] = authored
    notes = segments.notes_after(message, obr)
    if notes:
        request["note"] = [{"text": note} for note in notes]
    return request
