"""CodeSystem $lookup: a code's display, its Korean and English designations, parents and children
(https://hl7.org/fhir/R4/codesystem-operation-lookup.html)."""

from __future__ import annotations

from fhir_server.errors import BadRequest
from fhir_server.operations import codings, operation
from fhir_server.operations.inputs import Inputs, parameters
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"code": "code", "system": "uri", "version": "string", "coding": "Coding",
            "displayLanguage": "code", "property": "code"}
PROPERTIES = ("parent", "child", "kind", "inactive")


@operation("lookup", definition="http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
           levels=("type", "instance"), resource_type="CodeSystem", methods=("GET", "POST"))
def lookup(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$lookup")
    system, code, version, _ = codings.coding(inputs)
    if "id" in args:
        system = system or codings.stored(context, "CodeSystem", args["id"]).get("url")
    if not system:
        raise BadRequest("`$lookup` needs `system` (or a `coding` with one) to know which code system to look in.",
                         expression=("system",))
    code_system = context.terminology.system(system, version)
    concept = codings.require_code(context, code_system, code)
    wanted = _wanted_properties(inputs)
    language = inputs.get("displayLanguage")
    display = next((text for tag, text in concept.designations if language and tag.split("-")[0] == language),
                   concept.display)
    properties = []
    if "parent" in wanted:
        properties += [_property("parent", valueCode=parent) for parent in code_system.parents.get(code, ())]
    if "child" in wanted:
        properties += [_property("child", valueCode=child) for child in code_system.children.get(code, ())]
    if "kind" in wanted and concept.kind:
        properties.append(_property("kind", valueString=concept.kind))
    if "inactive" in wanted:
        properties.append(_property("inactive", valueBoolean=not concept.active))
    designations = [{"name": "designation", "part": [{"name": "language", "valueCode": tag},
                                                     {"name": "value", "valueString": text}]}
                    for tag, text in concept.designations]
    return FhirResponse(200, parameters({"name": "name", "valueString": code_system.name},
                                        {"name": "version", "valueString": code_system.version},
                                        {"name": "display", "valueString": display}, *designations, *properties))


def _wanted_properties(inputs: Inputs) -> set[str]:
    asked = inputs.all("property")
    unknown = [name for name in asked if name not in PROPERTIES]
    if unknown:
        raise BadRequest(f"`$lookup` has no property {', '.join(f'`{name}`' for name in unknown)}; "
                         f"properties: {', '.join(PROPERTIES)}.", expression=("property",))
    return set(asked) or set(PROPERTIES)


def _property(code: str, **value) -> dict:
    return {"name": "property", "part": [{"name": "code", "valueCode": code},
                                         {"name": "value", **value}]}
