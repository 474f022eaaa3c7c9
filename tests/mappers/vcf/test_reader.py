import gzip
from pathlib import Path

import pytest

from mappers.base import Rejected
from mappers.vcf import reader

SAMPLE = Path(__file__).parents[2] / "data" / "mappers" / "vcf" / "sample.vcf"


def test_the_header_gives_samples_build_date_and_annotation_layout():
    header, calls = reader.read(SAMPLE, "sample.vcf")
    calls.close()
    assert (header.version, header.samples, header.build, header.file_date, header.line) == (
        "VCFv4.2", ["TUMOR01", "BLOOD02"], "GRCh38", "20240310", 10)
    assert header.annotations["ANN"][:4] == ["Allele", "Annotation", "Annotation_Impact", "Gene_Name"]


def test_data_lines_are_calls_and_a_malformed_line_is_rejected_with_its_number():
    _, calls = reader.read(SAMPLE, "sample.vcf")
    found = list(calls)
    first = found[0]
    assert (first.line, first.chromosome, first.position, first.ids, first.reference, first.alternates) == (
        11, "chr17", 43106478, ["rs80357713"], "AG", ["A"])
    assert first.info["DP"] == "96" and first.samples[0] == {"GT": "0/1", "DP": "48", "AD": "25,23"}
    [rejected] = [call for call in found if isinstance(call, Rejected)]
    assert (rejected.source.line, rejected.reason) == (14, "POS `abc` is not a position")


def test_gzip_and_bgzip_files_are_read_alike(tmp_path):
    packed = tmp_path / "sample.vcf.gz"
    packed.write_bytes(gzip.compress(SAMPLE.read_bytes()))
    _, plain = reader.read(SAMPLE, "a")
    _, compressed = reader.read(packed, "b")
    assert [getattr(c, "line", None) for c in plain] == [getattr(c, "line", None) for c in compressed]


def test_a_truncated_file_rejects_its_last_line(tmp_path):
    cut = tmp_path / "cut.vcf"
    cut.write_bytes(SAMPLE.read_bytes().rsplit(b"\t", 3)[0])
    *_, last = reader.read(cut, "cut.vcf")[1]
    assert isinstance(last, Rejected) and "(the file may be truncated)" in last.reason


@pytest.mark.parametrize("text, message", [
    ("not a vcf\n", "is not `##fileformat=VCFv4.x`"),
    ("##fileformat=VCFv4.2\n", "no `#CHROM` header line"),
    ("##fileformat=VCFv4.2\n#CHROM POS\n", "is not tab-separated"),
])
def test_a_file_that_is_not_a_vcf_is_refused(tmp_path, text, message):
    path = tmp_path / "x.vcf"
    path.write_text(text)
    with pytest.raises(reader.VcfError, match=message):
        reader.read(path, "x.vcf")
