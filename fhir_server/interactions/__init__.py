"""The RESTful interactions, declared once as data (https://hl7.org/fhir/R4/http.html).

Routes, the request seam and the CapabilityStatement are all derived from ``INTERACTIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from fhir_server.interactions import (bundle, capabilities, create, delete, history, patch, read, search, update,
                                      vread)


@dataclass(frozen=True)
class Interaction:
    name: str
    method: str
    path: str  # werkzeug rule relative to the FHIR base
    handler: Callable
    level: str  # instance, type or system
    capability_codes: tuple[str, ...] = ()
    capability_flags: dict = field(default_factory=dict)


INTERACTIONS: tuple[Interaction, ...] = (
    Interaction("read", "GET", "/<type>/<id>", read.read, "instance", ("read",),
                {"conditionalRead": "full-support"}),
    Interaction("vread", "GET", "/<type>/<id>/_history/<version>", vread.vread, "instance", ("vread",),
                {"versioning": "versioned-update", "readHistory": True}),
    Interaction("update", "PUT", "/<type>/<id>", update.update, "instance", ("update",), {"updateCreate": True}),
    Interaction("patch", "PATCH", "/<type>/<id>", patch.patch, "instance", ("patch",)),
    Interaction("delete", "DELETE", "/<type>/<id>", delete.delete, "instance", ("delete",)),
    Interaction("history-instance", "GET", "/<type>/<id>/_history", history.instance, "instance",
                ("history-instance",)),
    Interaction("history-type", "GET", "/<type>/_history", history.type_level, "type", ("history-type",)),
    Interaction("create", "POST", "/<type>", create.create, "type", ("create",), {"conditionalCreate": True}),
    Interaction("update", "PUT", "/<type>", update.conditional_update, "type", (), {"conditionalUpdate": True}),
    Interaction("patch", "PATCH", "/<type>", patch.conditional_patch, "type"),
    Interaction("delete", "DELETE", "/<type>", delete.conditional_delete, "type", (),
                {"conditionalDelete": "single"}),
    Interaction("search-type", "GET", "/<type>", search.search_type, "type", ("search-type",)),
    Interaction("search-type", "POST", "/<type>/_search", search.search_type, "type"),
    Interaction("search-compartment", "GET", "/<compartment>/<id>/<type>", search.search_compartment, "type"),
    Interaction("capabilities", "GET", "/metadata", capabilities.capabilities, "system"),
    Interaction("transaction", "POST", "/", bundle.process, "system", ("transaction", "batch")),
    Interaction("history-system", "GET", "/_history", history.system, "system", ("history-system",)),
)
