"""The audit trail: one AuditEvent (https://hl7.org/fhir/R4/auditevent.html) per interaction that touches
patient data, stored as a resource in the database, so administrators search it with the whole search
language, and nobody can change it through the API.

One event per HTTP request: a batch or transaction's entries become entities of the request's event, each
with its own outcome, so loading a Bundle writes one AuditEvent, not one per resource. It is written before
the response leaves; if that write fails, the client gets a 500 instead of an unaudited answer. Who asked
(the token's subject and issuer, its client, the source address), what (the interaction, the resources, a
search's query), about which patient, and the outcome.
"""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fhir_server.storage.instants import format_instant

AUDIT_TYPE = "AuditEvent"
# Interactions that touch no patient's record: discovery and code systems.
UNAUDITED = {"capabilities", "$lookup", "$subsumes", "$validate-code", "$translate", "$expand"}
_ACTIONS = {"create": "C", "read": "R", "vread": "R", "history-instance": "R", "history-type": "R",
            "history-system": "R", "update": "U", "patch": "U", "delete": "D"}  # the rest execute (E)
_SUBTYPES = {"search-compartment": "search-type", "bulk-status": "operation", "bulk-cancel": "operation",
             "bulk-file": "operation"}
_PATIENT_PARAMETERS = ("patient", "subject", "patient:Patient", "subject:Patient")
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass
class Trail:
    """The events of one HTTP request, written together when it ends."""

    source_address: str | None
    events: list[dict] = field(default_factory=list)


def event(interaction: str, args: dict, request, response, status: int, principal,
          source_address: str | None) -> dict:
    """The AuditEvent of one interaction: ``request``/``response`` are the pipeline's FhirRequest and
    FhirResponse (None when it failed), ``principal`` the token's, ``status`` the HTTP status answered."""
    subtype = "operation" if interaction.startswith("$") else _SUBTYPES.get(interaction, interaction)
    audit = {
        "resourceType": AUDIT_TYPE,
        "type": {"system": f"{_TERMINOLOGY}audit-event-type", "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": subtype}],
        "action": _ACTIONS.get(interaction, "E"),
        "recorded": format_instant(time.time_ns() // 1_000_000),
        "outcome": "0" if status < 400 else "4" if status < 500 else "8",
        "outcomeDesc": f"{status} {request.method} {request.path}",
        "agent": _agents(principal, source_address),
        "source": {"observer": {"display": "fhir-server"},
                   "type": [{"system": f"{_TERMINOLOGY}security-source-type", "code": "4",
                             "display": "Application Server"}]},
    }
    entities = _entities(interaction, args, request, response, principal)
    if entities:
        audit["entity"] = entities
    return audit


def _agents(principal, source_address: str | None) -> list[dict]:
    network = {"address": source_address, "type": "2"} if source_address else None
    if principal is None:
        return [{"who": {"display": "anonymous (authentication off)"}, "requestor": True,
                 **({"network": network} if network else {})}]
    user = {"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153",
                                 "display": "Source Role ID"}]},
            "who": {"identifier": {"system": principal.issuer, "value": principal.subject}},
            "requestor": True,
            "role": [{"text": role} for role in sorted(principal.roles)] or [{"text": "user"}],
            "policy": list(principal.scopes)}
    if principal.fhir_user:
        user["who"]["display"] = principal.fhir_user
    if network:
        user["network"] = network
    agents = [user]
    if principal.client_id:
        agents.append({"type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM",
                                            "code": "110150", "display": "Application"}]},
                       "who": {"identifier": {"system": principal.issuer, "value": principal.client_id}},
                       "requestor": False})
    return agents


def _entities(interaction: str, args: dict, request, response, principal) -> list[dict]:
    entities = []
    resource_type, id_ = args.get("type"), args.get("id")
    version = getattr(response, "version", None)
    if version is not None:
        entities.append(_entity(f"{version.resource_type}/{version.id}/_history/{version.version_id}"))
    elif resource_type and id_:
        entities.append(_entity(f"{resource_type}/{id_}"))
    if interaction.startswith("search") or interaction == "history-type":
        entities.append({"type": {"system": f"{_TERMINOLOGY}audit-entity-type", "code": "2"},
                         "role": {"system": f"{_TERMINOLOGY}object-role", "code": "24", "display": "Query"},
                         "description": resource_type,
                         "query": base64.b64encode(urlencode(request.params).encode()).decode()})
    for patient in sorted(filter(_ID.fullmatch, _patients(args, request, principal))):
        entities.append({"what": {"reference": f"Patient/{patient}"},
                         "type": {"system": f"{_TERMINOLOGY}audit-entity-type", "code": "1"},
                         "role": {"system": f"{_TERMINOLOGY}object-role", "code": "1", "display": "Patient"}})
    return entities


def _entity(reference: str) -> dict:
    return {"what": {"reference": reference}, "type": {"system": f"{_TERMINOLOGY}audit-entity-type", "code": "2"}}


def _patients(args: dict, request, principal) -> set[str]:
    """The patients whose record the interaction touched, as far as the request names them."""
    patients = {principal.patient} if principal is not None and principal.patient else set()
    if args.get("type") == "Patient" and args.get("id"):
        patients.add(args["id"])
    if args.get("compartment") == "Patient":
        patients.add(args["id"])
    for name, value in request.params:
        if name in _PATIENT_PARAMETERS:
            patients |= {item.rsplit("Patient/", 1)[-1] for item in value.split(",")
                         if item and ("/" not in item or "Patient/" in item)}
    resource = request.resource
    if isinstance(resource, dict):
        for element in ("subject", "patient", "beneficiary"):
            reference = resource.get(element)
            if isinstance(reference, dict) and str(reference.get("reference", "")).startswith("Patient/"):
                patients.add(reference["reference"].removeprefix("Patient/"))
    return patients


class Writer:
    """Writes each request's event before its answer leaves, committing the events of concurrent requests
    together (group commit): a thread that finds the writer busy queues its event, and the next commit
    takes every queued one. Threads then wait on a lock instead of in SQLite's busy handler, which
    sleeps up to 100 ms at a time."""

    def __init__(self, repository):
        self._repository = repository
        self._queue_lock, self._write_lock = threading.Lock(), threading.Lock()
        self._queued: list[_Ticket] = []

    def write(self, trail: Trail) -> None:
        """Returns once the request's event is committed; raises what the commit raised."""
        if not trail.events:
            return
        ticket = _Ticket(_one_per_request(trail.events))
        with self._queue_lock:
            self._queued.append(ticket)
        with self._write_lock:
            if not ticket.done:
                with self._queue_lock:
                    batch, self._queued = self._queued, []
                self._commit(batch)
        if ticket.error is not None:
            raise ticket.error

    def _commit(self, batch: list["_Ticket"]) -> None:
        try:
            with self._repository.write() as session:
                for ticket in batch:
                    session.create(ticket.event)
        except Exception as error:  # every request of the batch fails with it: none is answered unaudited
            for ticket in batch:
                ticket.error = error
        for ticket in batch:
            ticket.done = True


@dataclass
class _Ticket:
    event: dict
    done: bool = False
    error: Exception | None = None


def _one_per_request(events: list[dict]) -> dict:
    """The request's own event (it finishes last) with the entities its Bundle entries touched."""
    request_event = events[-1]
    entities = list(request_event.get("entity", []))
    patients = {entity["what"]["reference"] for entity in entities if _is_patient(entity)}
    for entry in events[:-1]:
        for entity in entry.get("entity", []):
            if _is_patient(entity):
                if entity["what"]["reference"] not in patients:
                    patients.add(entity["what"]["reference"])
                    entities.append(entity)
            else:
                entities.append({**entity, "detail": [{"type": "entry", "valueString": entry["outcomeDesc"]}]})
    return {**request_event, "entity": entities} if entities else request_event


def _is_patient(entity: dict) -> bool:
    return entity.get("role", {}).get("code") == "1"
