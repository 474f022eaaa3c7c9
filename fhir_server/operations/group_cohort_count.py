"""Group $cohort-count: how many patients match a cohort definition, and what they look like, as the
node's privacy policy allows (counts below k suppressed, noise, budget; see ``cohorts/privacy.py``).

Type level: the definition is the `definition` parameter (the JSON of ``cohorts/definition.py`` as a
string). Instance level: the definition saved in the Group by `$cohort-save`, returned with the answer
(`definition`, `name`) so the cohort can be reopened. `breakdown` (repeatable):
sex, age-band, age-sex (the pyramid: cells `band|sex`), diagnosis, year, hospital; `ageAt`: the date age
bands are computed at (default today).
"""

from __future__ import annotations

import json

from fhir_server import json_codec
from fhir_server.cohorts import service
from fhir_server.cohorts.parameters import to_parameters
from fhir_server.cohorts.saved import definition_in, saved_group
from fhir_server.errors import BadRequest
from fhir_server.operations import operation
from fhir_server.operations.inputs import Inputs
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"definition": "string", "breakdown": "code", "ageAt": "string"}


@operation("cohort-count", definition="http://fhir-server.kr/OperationDefinition/Group-cohort-count",
           levels=("type", "instance"), resource_type="Group")
def cohort_count(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$cohort-count")
    group = None
    if "id" in args:
        if inputs.has("definition"):
            raise BadRequest("`$cohort-count` on a saved Group uses its definition; send none.",
                             expression=("definition",))
        group = saved_group(context, args["id"])
        source = definition_in(group)
    else:
        source = definition_of(inputs)
    asked = service.question(context, source, inputs.all("breakdown"), inputs.get("ageAt"))
    answer = service.count(context, asked, context.access.requester)
    parameters = to_parameters(answer.released(), answer.epsilon, answer.budget_left)
    if group is not None:  # what was counted, so a researcher who may not read Groups can reopen the cohort
        parameters["parameter"] += [{"name": "definition", "valueString": asked.definition.normalized()},
                                    *([{"name": "name", "valueString": group["name"]}] if group.get("name") else [])]
    return FhirResponse(200, json_codec.dump(parameters))


def definition_of(inputs: Inputs) -> dict:
    text = inputs.get("definition")
    if text is None:
        raise BadRequest(f"`{inputs.operation}` needs a `definition` (the cohort definition as a JSON string).",
                         expression=("definition",))
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"`definition` is not JSON: {error}.", expression=("definition",)) from None
