"""Group $cohort-federate: one cohort question to this node and to every peer in FHIR_SERVER_FEDERATION_PEERS;
each answers under its own privacy policy, and the combination is suppressed again
(``cohorts/federation.py``). Takes the parameters of `$cohort-count`; answers the combined `count`, `k` and
`breakdown`s, and a `hospital` part per hospital with its `status` (answered, refused, unreachable,
timed-out, failed), `message` and released `count`.
"""

from __future__ import annotations

from fhir_server import json_codec
from fhir_server.cohorts import federation, service
from fhir_server.cohorts.parameters import federated_parameters
from fhir_server.errors import FhirError
from fhir_server.operations import operation
from fhir_server.operations.group_cohort_count import DECLARED, definition_of
from fhir_server.operations.inputs import Inputs
from fhir_server.pipeline import Context, FhirRequest, FhirResponse


@operation("cohort-federate", definition="http://fhir-server.kr/OperationDefinition/Group-cohort-federate",
           levels=("type",), resource_type="Group")
def cohort_federate(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$cohort-federate")
    source, breakdowns, age_at = definition_of(inputs), inputs.all("breakdown"), inputs.get("ageAt")
    asked = service.question(context, source, breakdowns, age_at)  # a bad question fails here, before any peer
    hospital = context.settings.hospital_name
    try:
        answer = service.count(context, asked, context.access.requester)
        local = {"hospital": hospital, "status": federation.ANSWERED, "answer": answer.released()}
    except FhirError as error:
        status = federation.REFUSED if error.issues[0].code == "business-rule" else federation.FAILED
        local = {"hospital": hospital, "status": status, "message": error.message}
    combined = federation.ask(context.settings, source, breakdowns, age_at, local=local)
    return FhirResponse(200, json_codec.dump(federated_parameters(combined)))
