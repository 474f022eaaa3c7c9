"""The VCF mapper against a hand-checked golden file (tests/data/mappers/vcf): what each sample's call
becomes, and why the others are rejected."""

import json
from pathlib import Path

from mappers.base import Mapped, Rejected
from mappers.vcf import reader
from mappers.vcf.mapper import VcfMapper

DATA = Path(__file__).parents[2] / "data" / "mappers" / "vcf"
SUBJECTS = {"TUMOR01": {"reference": "Patient/p1"}, "BLOOD02": "no Patient has the identifier `x|2`"}


def _results():
    header, calls = reader.read(DATA / "sample.vcf", "sample.vcf")
    return list(VcfMapper(header, "sample.vcf", SUBJECTS, "GRCh38", "urn:test:vcf").map_calls(calls))


def test_calls_map_to_the_expected_observations_and_report():
    from fhir_server import json_codec  # the bytes the server will store: decimals exact

    made = [resource for result in _results() if isinstance(result, Mapped) for resource in result.resources]
    expected = json.loads((DATA / "expected.json").read_text(), parse_float=str)
    assert json.loads(json_codec.dump(made), parse_float=str) == expected


def test_each_samples_call_is_one_record_mapped_or_rejected_with_its_reason():
    outcome = [(r.source.line, r.source.part, len(r.resources) if isinstance(r, Mapped) else r.reason)
               for r in _results()]
    assert outcome == [
        (11, "TUMOR01", 1), (11, "BLOOD02", 0),  # 0/1 is a variant; 0/0 is the reference
        (12, "TUMOR01", 2), (12, "BLOOD02", "no Patient has the identifier `x|2`"),  # 1/2: one per allele
        (13, "TUMOR01", 0), (13, "BLOOD02", "no Patient has the identifier `x|2`"),  # ./. is no call
        (14, None, "POS `abc` is not a position"),
        (15, "TUMOR01", "ALT `<DEL>` is not a sequence of bases (symbolic alleles are not mapped)"),
        (15, "BLOOD02", 0),
        (16, "TUMOR01", "GT `X/Y` is not a genotype such as 0/1, 1|1 or ./."),
        (16, "BLOOD02", "GT `0/3` names an allele the ALT column does not have"),
        (10, "TUMOR01", 1), (10, "BLOOD02", "no Patient has the identifier `x|2`"),  # the reports
    ]


def test_zygosity_follows_the_genotype():
    header, calls = reader.read(DATA / "sample.vcf", "sample.vcf")
    subjects = {"TUMOR01": {"reference": "Patient/p1"}, "BLOOD02": {"reference": "Patient/p2"}}
    found = {}
    for result in VcfMapper(header, "sample.vcf", subjects, "GRCh38", "urn:test:vcf").map_calls(calls):
        for resource in getattr(result, "resources", []):
            if resource["resourceType"] == "Observation":
                state = next(c for c in resource["component"] if c["code"]["coding"][0]["code"] == "53034-5")
                found[(result.source.line, result.source.part)] = state["valueCodeableConcept"]["coding"][0]["display"]
    assert found == {(11, "TUMOR01"): "Heterozygous", (12, "TUMOR01"): "Heterozygous",
                     (12, "BLOOD02"): "Homozygous", (13, "BLOOD02"): "Hemizygous"}


def test_a_missing_transcript_written_as_a_dot_is_left_out_of_the_hgvs_code(tmp_path):
    text = (DATA / "sample.vcf").read_text()
    assert "|transcript|NM_007294.4|" in text
    (tmp_path / "dot.vcf").write_text(text.replace("|transcript|NM_007294.4|", "|transcript|.|"))
    header, calls = reader.read(tmp_path / "dot.vcf", "dot.vcf")
    subjects = {"TUMOR01": {"reference": "Patient/p1"}, "BLOOD02": {"reference": "Patient/p2"}}
    codes = [component["valueCodeableConcept"]["coding"][0]["code"]
             for result in VcfMapper(header, "dot.vcf", subjects, "GRCh38", "urn:test:vcf").map_calls(calls)
             for resource in getattr(result, "resources", []) if resource["resourceType"] == "Observation"
             for component in resource["component"] if component["code"]["coding"][0]["code"] == "48004-6"]
    assert "c.68_69del" in codes and not any(code.startswith(".") for code in codes), codes
