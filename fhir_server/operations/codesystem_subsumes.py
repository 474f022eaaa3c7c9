"""CodeSystem $subsumes: how code A relates to code B in the hierarchy: equivalent, subsumes,
subsumed-by or not-subsumed (https://hl7.org/fhir/R4/codesystem-operation-subsumes.html)."""

from __future__ import annotations

from fhir_server.errors import BadRequest
from fhir_server.operations import codings, operation
from fhir_server.operations.inputs import Inputs, parameters
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"codeA": "code", "codeB": "code", "system": "uri", "version": "string", "codingA": "Coding",
            "codingB": "Coding"}


@operation("subsumes", definition="http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
           levels=("type", "instance"), resource_type="CodeSystem", methods=("GET", "POST"))
def subsumes(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$subsumes")
    system_a, code_a, version_a, _ = codings.coding(inputs, code="codeA", coding_name="codingA")
    system_b, code_b, version_b, _ = codings.coding(inputs, code="codeB", coding_name="codingB")
    systems = {system for system in (system_a, system_b) if system}
    if "id" in args:
        systems.add(codings.stored(context, "CodeSystem", args["id"]).get("url"))
    if len(systems) != 1:
        raise BadRequest("`$subsumes` compares two codes of one code system: give `system` once, or codings of "
                         "the same system.", expression=("system",))
    code_system = context.terminology.system(systems.pop(), version_a or version_b)
    for code, name in ((code_a, "codeA"), (code_b, "codeB")):
        if code not in code_system:
            raise BadRequest(codings.unknown_code(context, code_system, code), expression=(name,))
    return FhirResponse(200, parameters({"name": "outcome", "valueCode": code_system.subsumes(code_a, code_b)}))
