"""_summary and _elements (https://hl7.org/fhir/R4/search.html#summary), on search and read.

Expected elements are those the R4 Observation page marks Σ (code, status, subject, effective[x],
value[x]) or not (category, note, interpretation).
"""

from tests.fhir_client import create

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
OBSERVATION = {"resourceType": "Observation", "status": "final", "code": {"text": "HbA1c"},
               "category": [{"text": "laboratory"}], "subject": {"reference": "Patient/x"},
               "effectiveDateTime": "2020-01-01", "valueQuantity": {"value": 7.1, "unit": "%"},
               "interpretation": [{"text": "high"}], "note": [{"text": "fasting"}],
               "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">HbA1c 7.1%</div>"}}


def _only(client, query):
    return client.get(f"/fhir/Observation?{query}").get_json(force=True)["entry"][0]["resource"]


def test_summary_true_keeps_summary_elements_only(client):
    create(client, OBSERVATION)
    resource = _only(client, "_summary=true")
    assert {"code", "status", "subject", "effectiveDateTime", "valueQuantity"} <= set(resource)
    assert not {"category", "note", "interpretation", "text"} & set(resource)
    assert SUBSETTED in resource["meta"]["tag"]


def test_summary_data_drops_only_the_narrative(client):
    create(client, OBSERVATION)
    resource = _only(client, "_summary=data")
    assert "text" not in resource and {"note", "category", "interpretation"} <= set(resource)


def test_summary_text_keeps_narrative_and_mandatory_elements(client):
    create(client, OBSERVATION)
    resource = _only(client, "_summary=text")
    assert {"text", "status", "code"} <= set(resource)
    assert not {"note", "valueQuantity", "subject"} & set(resource)


def test_elements_keeps_the_named_and_mandatory_elements(client):
    create(client, OBSERVATION)
    resource = _only(client, "_elements=value,note")
    assert set(resource) == {"resourceType", "id", "meta", "status", "code", "valueQuantity", "note"}


def test_read_honours_elements_and_unsubsetted_reads_are_untouched(client):
    reference = create(client, OBSERVATION)
    assert set(client.get(f"/fhir/{reference}?_elements=subject").get_json(force=True)) == \
        {"resourceType", "id", "meta", "status", "code", "subject"}
    whole = client.get(f"/fhir/{reference}").get_json(force=True)
    assert "tag" not in whole["meta"] and "note" in whole


def test_full_text_parameters_are_400_on_the_sql_backend(client):
    response = client.get("/fhir/Observation?_text=fasting")
    assert response.status_code == 400 and "full-text" in response.get_json(force=True)["issue"][0]["diagnostics"]
