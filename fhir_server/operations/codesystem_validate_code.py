"""CodeSystem $validate-code: is this code (and display) in the code system
(https://hl7.org/fhir/R4/codesystem-operation-validate-code.html). A code that is not there is
``result: false`` with the reason; a code system that is not here is a 404."""

from __future__ import annotations

from fhir_server.errors import BadRequest
from fhir_server.operations import codings, operation
from fhir_server.operations.inputs import Inputs, parameters
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"url": "uri", "code": "code", "version": "string", "display": "string", "coding": "Coding",
            "codeableConcept": "CodeableConcept"}


@operation("validate-code", definition="http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
           levels=("type", "instance"), resource_type="CodeSystem", methods=("GET", "POST"))
def validate_code(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$validate-code")
    system, code, version, display = codings.coding(inputs, system="url")
    if "id" in args:
        system = system or codings.stored(context, "CodeSystem", args["id"]).get("url")
    if not system:
        raise BadRequest("`$validate-code` needs `url` (or a `coding` with a system).", expression=("url",))
    code_system = context.terminology.system(system, version)
    return FhirResponse(200, check(context, code_system, code, display))


def check(context: Context, code_system, code: str, display: str | None) -> bytes:
    """The $validate-code answer for one code of one system (ValueSet $validate-code shares it)."""
    concept = code_system.get(code)
    if concept is None:
        return parameters({"name": "result", "valueBoolean": False},
                          {"name": "message", "valueString": codings.unknown_code(context, code_system, code)})
    known = {concept.display, *(text for _, text in concept.designations)}
    if display is not None and display not in known:
        return parameters({"name": "result", "valueBoolean": False},
                          {"name": "message", "valueString": f"`{display}` is not a display of `{code}`; "
                                                             f"it is `{concept.display}`."},
                          {"name": "display", "valueString": concept.display})
    return parameters({"name": "result", "valueBoolean": True}, {"name": "display", "valueString": concept.display})
