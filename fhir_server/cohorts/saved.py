"""A cohort saved as a FHIR Group (https://hl7.org/fhir/R4/group.html): its definition in an extension, so
it can be evaluated again; with `actual=true`, its member patients as of the last evaluation.
"""

from __future__ import annotations

import json

from fhir_server import json_codec
from fhir_server.errors import BadRequest
from fhir_server.cohorts.definition import Definition

DEFINITION_EXTENSION = "http://fhir-server.kr/StructureDefinition/cohort-definition"


def group(definition: Definition, name: str | None, member_ids: list[str] | None) -> dict:
    """A Group for the definition; with ``member_ids``, an actual group of those patients."""
    resource = {"resourceType": "Group",
                "extension": [{"url": DEFINITION_EXTENSION, "valueString": definition.normalized()}],
                "type": "person", "actual": member_ids is not None}
    if name:
        resource["name"] = name
    if member_ids is not None:
        resource["quantity"] = len(member_ids)
        resource["member"] = [{"entity": {"reference": f"Patient/{id_}"}} for id_ in member_ids]
    return resource


def definition_in(resource: dict) -> dict:
    for extension in resource.get("extension", ()):
        if extension.get("url") == DEFINITION_EXTENSION and isinstance(extension.get("valueString"), str):
            return json.loads(extension["valueString"])
    raise BadRequest(f"`Group/{resource.get('id')}` holds no cohort definition (extension "
                     f"`{DEFINITION_EXTENSION}`); save one with `$cohort-save`.")


def saved_group(context, id_: str) -> dict:
    """The stored Group, whatever the requester may read: only its definition is used, never its members."""
    return json_codec.parse(context.repository.read("Group", id_).body)

