"""capabilities: https://hl7.org/fhir/R4/http.html#capabilities"""

from fhir_server.interactions import INTERACTIONS
from fhir_server.resources import supported_resource_types


def test_capability_statement_lists_registered_types_and_interactions(client):
    statement = client.get("/fhir/metadata").get_json(force=True)
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert [resource["type"] for resource in rest["resource"]] == list(supported_resource_types())
    patient = next(resource for resource in rest["resource"] if resource["type"] == "Patient")
    codes = {interaction["code"] for interaction in patient["interaction"]}
    assert codes == {"read", "vread", "update", "patch", "delete", "history-instance", "history-type", "create",
                     "search-type"}
    assert patient["conditionalCreate"] is True and patient["conditionalDelete"] == "single"
    assert {"identifier", "_id"} <= {parameter["name"] for parameter in patient["searchParam"]}
    assert {interaction["code"] for interaction in rest["interaction"]} == {"transaction", "batch", "history-system"}
    assert "http://hl7.org/fhir/CompartmentDefinition/patient" in rest["compartment"]


def test_every_declared_interaction_is_routed(client):
    for interaction in INTERACTIONS:
        path = (interaction.path.replace("<type>", "Observation").replace("<compartment>", "Patient")
                .replace("<id>", "x").replace("<version>", "1"))
        response = client.open(f"/fhir{path}".rstrip("/"), method=interaction.method)
        assert response.status_code not in (404, 405) or b"was not found" in response.data, (
            interaction, response.get_data(as_text=True))


def test_types_without_an_r4b_model_are_not_offered(client):
    statement = client.get("/fhir/metadata").get_json(force=True)
    offered = {resource["type"] for resource in statement["rest"][0]["resource"]}
    assert "MedicinalProduct" not in offered
    assert client.get("/fhir/MedicinalProduct/1").status_code == 404
