"""A resource as the server serves it and stores it: its id and ``meta.versionId``/``meta.lastUpdated`` set by the
server, first, in the usual order (https://hl7.org/fhir/R4/resource.html#Meta), and the exact JSON bytes of that.
"""

from __future__ import annotations

from fhir_server import json_codec
from fhir_server.storage.instants import format_instant


def served_tail(resource: dict) -> bytes | None:
    """The resource's JSON as served (:func:`with_server_fields`) after ``meta.lastUpdated``, the same for every
    id, version and instant: a bulk load's validation worker makes it, and the write puts the server's fields
    before it (:func:`served_body`) instead of serializing the resource. None if the serializer starts otherwise."""
    body = json_codec.dump(with_server_fields(resource, "", 1, 0))
    head = _served_head(resource["resourceType"], "", 1, 0)
    return body[len(head):] if body.startswith(head) else None


def served_body(resource_type: str, id_: str, version_id: int, last_updated: int, tail: bytes) -> bytes:
    """Byte for byte ``json_codec.dump(with_server_fields(resource, ...))``, from the resource's :func:`served_tail`."""
    return _served_head(resource_type, id_, version_id, last_updated) + tail


def _served_head(resource_type: str, id_: str, version_id: int, last_updated: int) -> bytes:
    return json_codec.dump({"resourceType": resource_type, "id": id_, "meta": {
        "versionId": str(version_id), "lastUpdated": format_instant(last_updated)}})[:-2]  # open: more may follow


def with_server_fields(resource: dict, id_: str, version_id: int, last_updated: int) -> dict:
    """The resource as served: id and meta.versionId/lastUpdated set by the server, in the usual order."""
    meta = {key: value for key, value in (resource.get("meta") or {}).items()
            if key not in ("versionId", "lastUpdated")}
    served = {"resourceType": resource["resourceType"], "id": id_,
              "meta": {"versionId": str(version_id), "lastUpdated": format_instant(last_updated), **meta}}
    served.update((key, value) for key, value in resource.items() if key not in ("resourceType", "id", "meta"))
    return served
