"""The OMOP CDM mapper against a hand-checked golden file (tests/data/mappers/omop: rows of the Synthea27
CDM plus a hand-written specimen and ICD-10-sourced condition), read from CSV files and from a database."""

import csv
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy

from mappers.base import Mapped, Rejected
from mappers.omop.mapper import OmopMapper
from mappers.omop.source import CsvFolder, Database, OmopSourceError

DATA = Path(__file__).parents[2] / "data" / "mappers" / "omop"
SAMPLE = Path(__file__).parents[3] / "mappers" / "omop" / "samples" / "synthea27"


def _made(results) -> list:
    from fhir_server import json_codec  # the bytes the server will store: decimals exact

    return json.loads(json_codec.dump([r for result in results if isinstance(result, Mapped)
                                       for r in result.resources]), parse_float=str)


def test_the_golden_cdm_maps_to_the_expected_resources(normalizer):
    results = list(OmopMapper(CsvFolder(DATA), normalizer, "urn:test:omop").map())
    assert [r for r in results if isinstance(r, Rejected)] == []
    assert _made(results) == json.loads((DATA / "expected.json").read_text(), parse_float=str)


@pytest.fixture(params=["sqlite", "postgresql"])
def cdm_url(request, tmp_path):
    """The golden CDM's tables in a database of each kind, as a CDM's ETL leaves them."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'cdm.sqlite'}"
    else:
        cluster = request.getfixturevalue("postgres")
        with cluster.admin.connect() as connection:
            connection.exec_driver_sql("DROP DATABASE IF EXISTS omop_cdm WITH (FORCE)")
            connection.exec_driver_sql("CREATE DATABASE omop_cdm")
        url = cluster.url("omop_cdm")
    engine = sqlalchemy.create_engine(url)
    metadata = sqlalchemy.MetaData()
    with engine.begin() as connection:
        for path in DATA.glob("*.csv"):
            with path.open(newline="") as handle:
                reader = csv.reader(handle)
                header = next(reader)
                table = sqlalchemy.Table(path.stem.lower(), metadata,
                                         *(sqlalchemy.Column(name, _CDM_TYPES(name)[0]) for name in header))
                table.create(connection)
                rows = [{name: _CDM_TYPES(name)[1](value) if value else None for name, value in zip(header, row)}
                        for row in reader]
                if rows:
                    connection.execute(table.insert(), rows)
    engine.dispose()
    return url


def _CDM_TYPES(column: str):
    """The column's type in the CDM v5.4 DDL, and how its CSV text becomes a value of it."""
    from datetime import date, datetime
    from decimal import Decimal

    if column.endswith("_id") and not column.endswith("_source_id") \
            and column not in ("domain_id", "vocabulary_id", "concept_class_id"):  # those are text
        return sqlalchemy.BigInteger, int
    if column.endswith("_datetime"):
        return sqlalchemy.DateTime, datetime.fromisoformat
    if column.endswith("_date"):
        return sqlalchemy.Date, date.fromisoformat
    if column in ("value_as_number", "range_low", "range_high", "quantity"):
        return sqlalchemy.Numeric, Decimal
    return sqlalchemy.Text, str


def test_a_cdm_in_a_database_maps_as_its_csv_files_do(normalizer, cdm_url):
    database = Database(cdm_url)
    results = list(OmopMapper(database, normalizer, "urn:test:omop").map())
    database.close()
    assert _made(results) == json.loads((DATA / "expected.json").read_text(), parse_float=str)
    assert [(r.source.file, r.source.line) for r in results if r.source.file == "person"] == [("person", 1),
                                                                                             ("person", 2)]


def test_every_row_of_the_sample_cdm_is_mapped_once(normalizer):
    results = list(OmopMapper(CsvFolder(SAMPLE), normalizer, "urn:test:omop").map())
    tables = ("PERSON", "OBSERVATION_PERIOD", "VISIT_OCCURRENCE", "CONDITION_OCCURRENCE", "DRUG_EXPOSURE",
              "MEASUREMENT", "OBSERVATION", "PROCEDURE_OCCURRENCE", "DEATH", "SPECIMEN")
    rows = sum(len(list(csv.reader((SAMPLE / f"{t}.csv").open()))) - 1 for t in tables)
    assert len(results) == rows and all(isinstance(r, Mapped) for r in results)


def _with(tmp_path, table: str, rows: list[str]) -> Path:
    folder = tmp_path / "cdm"
    shutil.copytree(DATA, folder)
    header = (DATA / f"{table}.csv").read_text().splitlines()[0]
    (folder / f"{table}.csv").write_text("\n".join([header, *rows]) + "\n")
    return folder


def test_bad_rows_are_rejected_with_table_line_column_and_reason(tmp_path, normalizer):
    folder = _with(tmp_path, "CONDITION_OCCURRENCE", [
        "1,1,372328,2002-10-15,2002-10-15 00:00:00,,,38000175,0,,10,1,1000001,65363002,372328,",
        "1,1,372328,2002-10-15,,,,38000175,0,,10,1,1000001,65363002,372328,",
        "2,99,372328,2002-10-15,,,,38000175,0,,10,1,1000001,65363002,372328,",
        "3,1,372328,2002-10-15,,,,38000175,0,,10,777,1000001,65363002,372328,",
        "4,1,372328,2002-13-45,,,,38000175,0,,10,1,1000001,65363002,372328,",
        "5,1,123,2002-10-15,,,,38000175,0,,10,1,1000001,,0,",
        "6,1,372328",
    ])
    rejects = [(r.source.line, r.field, r.reason) for r in OmopMapper(CsvFolder(folder), normalizer, "urn:x:y").map()
               if isinstance(r, Rejected)]
    assert rejects == [
        (3, "condition_occurrence_id", "`condition_occurrence_id` 1 appears twice in condition_occurrence"),
        (4, "person_id", "person `99` is not in the person table, or was rejected"),
        (5, "visit_occurrence_id", "visit `777` is not in the visit_occurrence table, or was rejected"),
        (6, "condition_start_date", "`2002-13-45` is not a date"),
        (7, "condition_concept_id", "`condition_concept_id` `123` is not in the CONCEPT table and there is no "
                                    "source value"),
        (8, None, "the row has 3 fields, the header 16"),
    ]


@pytest.mark.parametrize("remove, message", [("PERSON.csv", "no person.csv"), ("CONCEPT.csv", "no concept.csv")])
def test_a_folder_without_person_or_concept_is_refused(tmp_path, remove, message):
    folder = tmp_path / "cdm"
    shutil.copytree(DATA, folder)
    (folder / remove).unlink()
    with pytest.raises(OmopSourceError, match=message):
        CsvFolder(folder)


def test_an_unreachable_database_is_refused():
    with pytest.raises(OmopSourceError, match="cannot read the database"):
        Database("postgresql+psycopg://nobody@127.0.0.1:1/none")
