"""A server with KCD loaded into its terminology folder, as `fhir-server load-terminology kcd` does."""

import csv

import pytest

from fhir_server.app import create_app
from fhir_server.settings import Settings
from terminology import supplied
from terminology.systems import icd10

KCD_ROWS = [("C50.9", "상세불명의 유방의 악성 신생물", "Malignant neoplasm of breast, unspecified"),
            ("C50.91", "상세불명 유방의 악성 신생물, 우측", "Malignant neoplasm of breast, unspecified, right"),
            ("Q87.4", "마르팡증후군", "Marfan syndrome")]


@pytest.fixture(scope="session")
def kcd_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("terminology")
    source = folder / "kcd-source.csv"
    with source.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream).writerows([("질병분류코드", "한글명", "영문명"), *KCD_ROWS])
    assert supplied.store(folder, "kcd", [source], icd10.load()) == []
    return folder


@pytest.fixture
def kcd_client(database_url, kcd_folder):
    app = create_app(Settings(database_url=database_url, base_url="http://fhir.test/fhir",
                              terminology_folder=str(kcd_folder)))
    yield app.test_client()
    app.extensions["fhir"].repository.database.dispose()
