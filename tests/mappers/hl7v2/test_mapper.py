"""The HL7 v2 mapper against a hand-checked golden file: the messages of tests/data/mappers/hl7v2, each
mapped whole or rejected whole with the segment and field at fault."""

import json
from pathlib import Path

from mappers.base import Mapped, Rejected
from mappers.hl7v2.mapper import Hl7Mapper

DATA = Path(__file__).parents[2] / "data" / "mappers" / "hl7v2"


def _results(normalizer, data: bytes | None = None, encoding: str = "utf-8"):
    mapper = Hl7Mapper(normalizer, "urn:test:hl7")
    return list(mapper.map_bytes(data or (DATA / "messages.hl7").read_bytes(), "messages.hl7", encoding))


def test_messages_map_to_the_expected_resources(normalizer):
    from fhir_server import json_codec

    made = [{"message": r.source.part, "if_absent": r.if_absent, "resources": r.resources}
            for r in _results(normalizer) if isinstance(r, Mapped)]
    expected = json.loads((DATA / "expected.json").read_text(), parse_float=str)
    assert json.loads(json_codec.dump(made), parse_float=str) == expected


def test_each_message_is_one_record_and_a_bad_one_is_rejected_with_its_field(normalizer):
    outcome = [(r.source.line, r.source.part, r.field if isinstance(r, Rejected) else "mapped")
               for r in _results(normalizer)]
    assert outcome == [
        # each segment is a line: the messages have 9, 3, 9, 5, 3, 3, 3, 2, 3 and 2 segments
        (1, "ADT^A01 MSG0001", "mapped"), (10, "ADT^A03 MSG0002", "mapped"), (13, "ORU^R01 MSG0003", "mapped"),
        (22, "ORM^O01 MSG0004", "mapped"), (27, "VXU^V04 MSG0005", "mapped"), (30, "ADT^A40 MSG0006", "mapped"),
        (33, "ADT^A04 MSG0007", "PID-7"), (36, "SIU^S12 MSG0008", "MSH-9"), (38, "ADT^A01 MSG0009", "PID-8"),
        (41, "ORU^R01 MSG0010", "MSH-12"),
    ]


def test_a_result_message_only_creates_a_missing_patient(normalizer):
    oru = next(r for r in _results(normalizer) if isinstance(r, Mapped) and r.source.part.startswith("ORU"))
    assert [resource["resourceType"] for resource in oru.if_absent] == ["Patient"]
    assert "Patient" not in [resource["resourceType"] for resource in oru.resources]


def test_a_message_in_another_encoding_is_rejected_and_the_others_read(normalizer):
    data = (DATA / "messages.hl7").read_bytes().replace("김".encode(), "김".encode("cp949"), 1)
    results = _results(normalizer, data)
    assert isinstance(results[0], Rejected) and "is not valid utf-8" in results[0].reason
    assert sum(isinstance(r, Mapped) for r in results) == 5
    assert all(isinstance(r, Mapped) for r in _results(normalizer, (DATA / "messages.hl7").read_text()
                                                       .encode("cp949"), "cp949")[:6])


def test_each_adt_event_states_its_encounter_status(normalizer):
    from fhir_server import json_codec

    mapper = Hl7Mapper(normalizer, "urn:test:hl7")
    results = list(mapper.map_bytes((DATA / "adt-events.hl7").read_bytes(), "adt-events.hl7", "utf-8"))
    made = [{"message": r.source.part, "if_absent": r.if_absent, "resources": r.resources} for r in results]
    expected = json.loads((DATA / "adt-events.expected.json").read_text(), parse_float=str)
    assert json.loads(json_codec.dump(made), parse_float=str) == expected
    statuses = {r.source.part.split()[0]: [x.get("status") for x in r.resources if x["resourceType"] == "Encounter"]
                for r in results}
    assert statuses == {"ADT^A04": ["in-progress"], "ADT^A02": ["in-progress"], "ADT^A08": ["in-progress"],
                        "ADT^A11": ["cancelled"], "ADT^A13": ["in-progress"], "ADT^A28": [], "ADT^A31": []}
