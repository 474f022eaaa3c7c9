"""Bundles assembled from stored resource bytes, never from parsed models (https://hl7.org/fhir/R4/bundle.html)."""

from __future__ import annotations

import time
import uuid

from fhir_server import json_codec
from fhir_server.storage.instants import format_instant


def entry(full_url: str | None, resource: bytes | None, **rest) -> bytes:
    """One Bundle.entry with ``resource`` spliced in as stored bytes."""
    head = {"fullUrl": full_url} if full_url else {}
    parts = [json_codec.dump(head)[1:-1]] if head else []
    if resource is not None:
        parts.append(b'"resource":' + resource)
    if rest:
        parts.append(json_codec.dump(rest)[1:-1])
    return b"{" + b",".join(parts) + b"}"


def bundle(bundle_type: str, entries: list[bytes], *, links: list[tuple[str, str]] = (),
           total: int | None = None) -> bytes:
    head = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "meta": {"lastUpdated": format_instant(time.time_ns() // 1_000_000)},
        "type": bundle_type,
    }
    if total is not None:
        head["total"] = total
    if links:
        head["link"] = [{"relation": relation, "url": url} for relation, url in links]
    return json_codec.dump(head)[:-1] + b',"entry":[' + b",".join(entries) + b"]}"
