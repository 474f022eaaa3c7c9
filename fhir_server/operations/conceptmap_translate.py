"""ConceptMap $translate: KCD to ICD-10, ICD-10 to ORPHAcodes and back, each match with its equivalence
(https://hl7.org/fhir/R4/conceptmap-operation-translate.html). See ``terminology/conceptmaps.py``."""

from __future__ import annotations

from fhir_server.errors import BadRequest
from fhir_server.operations import codings, operation
from fhir_server.operations.inputs import Inputs, parameters
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"url": "uri", "conceptMapVersion": "string", "code": "code", "system": "uri", "version": "string",
            "coding": "Coding", "codeableConcept": "CodeableConcept", "targetsystem": "uri", "reverse": "boolean"}


@operation("translate", definition="http://hl7.org/fhir/OperationDefinition/ConceptMap-translate",
           levels=("type", "instance"), resource_type="ConceptMap", methods=("GET", "POST"))
def translate(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$translate")
    system, code, version, _ = codings.coding(inputs)
    if not system:
        raise BadRequest("`$translate` needs the code's `system` (or a `coding` with one).", expression=("system",))
    url = inputs.get("url")
    if "id" in args:
        url = codings.stored(context, "ConceptMap", args["id"]).get("url")
    service = context.terminology
    code_system = service.system(system, version)
    if code not in code_system:
        raise BadRequest(codings.unknown_code(context, code_system, code), expression=("code",))
    matches = service.translator.translate(system, code, url=url, target=inputs.get("targetsystem"),
                                           reverse=inputs.get("reverse", False))
    if not matches:
        return FhirResponse(200, parameters({"name": "result", "valueBoolean": False},
                                            {"name": "message", "valueString": f"No mapping for `{system}|{code}`."}))
    parts = []
    for match in matches:
        target = service.terminology.systems[match.target.system]
        concept = {"system": match.target.system, "version": target.version, "code": match.target.code,
                   "display": target.concepts[match.target.code].display}
        parts.append({"name": "match", "part": [{"name": "equivalence", "valueCode": match.target.equivalence},
                                                {"name": "concept", "valueCoding": concept},
                                                {"name": "source", "valueUri": match.source}]})
    return FhirResponse(200, parameters({"name": "result", "valueBoolean": True}, *parts))
