"""ValueSet $validate-code: is this code in the value set, and is its display right
(https://hl7.org/fhir/R4/valueset-operation-validate-code.html)."""

from __future__ import annotations

from fhir_server.errors import BadRequest
from fhir_server.operations import codings, operation
from fhir_server.operations.codesystem_validate_code import check
from fhir_server.operations.inputs import Inputs, parameters
from fhir_server.operations.valueset_expand import value_set_of
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"url": "uri", "valueSet": "Resource", "valueSetVersion": "string", "code": "code", "system": "uri",
            "systemVersion": "string", "display": "string", "coding": "Coding", "codeableConcept": "CodeableConcept"}


@operation("validate-code", definition="http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
           levels=("type", "instance"), resource_type="ValueSet", methods=("GET", "POST"))
def validate_code(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$validate-code")
    system, code, version, display = codings.coding(inputs, version="systemVersion")
    if not system:
        raise BadRequest("`$validate-code` needs the code's `system` (or a `coding` with one).", expression=("system",))
    value_set = value_set_of(inputs, args, context)
    service = context.terminology
    code_system = service.system(system, version)
    members = service.membership(value_set, lambda url: codings.stored_by_url(context, "ValueSet", url))
    if (system, code) not in members:
        name = value_set.get("url") or f"ValueSet/{value_set.get('id')}"
        reason = f"`{system}|{code}` is not in the value set `{name}`."
        if code not in code_system:
            reason += " " + codings.unknown_code(context, code_system, code)
        return FhirResponse(200, parameters({"name": "result", "valueBoolean": False},
                                            {"name": "message", "valueString": reason}))
    return FhirResponse(200, check(context, code_system, code, display))

