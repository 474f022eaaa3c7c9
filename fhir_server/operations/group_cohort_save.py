"""Group $cohort-save: keep a cohort definition as a Group, to be counted again with `$cohort-count`.

Type level creates the Group (201). Instance level evaluates a saved Group's definition again and stores
the result as its next version. `members=true` makes it an actual group listing the member patients:
only for a requester who may read every Patient; researchers save definitions, never members.
"""

from __future__ import annotations

from fhir_server import http, resources
from fhir_server.cohorts import definition as cohort_definition
from fhir_server.cohorts import saved, service
from fhir_server.operations import operation
from fhir_server.operations.group_cohort_count import definition_of
from fhir_server.operations.inputs import Inputs
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DECLARED = {"definition": "string", "name": "string", "members": "boolean"}


@operation("cohort-save", definition="http://fhir-server.kr/OperationDefinition/Group-cohort-save",
           levels=("type", "instance"), resource_type="Group")
def cohort_save(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$cohort-save")
    existing = saved.saved_group(context, args["id"]) if "id" in args else None
    source = saved.definition_in(existing) if existing else definition_of(inputs)
    definition = cohort_definition.load(source, context.terminology)
    with_members = inputs.get("members", existing.get("actual", False) if existing else False)
    member_ids = None
    if with_members:
        context.access.require_everywhere("Patient", "r", "A Group that lists its member patients")
        with context.reading() as connection:
            member_ids = service.members(context, connection, definition).member_ids()
    name = inputs.get("name", existing.get("name") if existing else None)
    group = saved.group(definition, name, member_ids)
    resources.validate(group)
    with context.transaction() as transaction:
        if existing:
            version, _ = transaction.session.update({**group, "id": existing["id"]}, existing["id"])
            return http.write_response(request, 200, version, f"Evaluated `{version.reference}` again.")
        version = transaction.session.create(group)
    return http.write_response(request, 201, version, f"Saved the cohort as `{version.reference}`.")
