"""Variant calls of a VCF file to Observations, and a DiagnosticReport per sample.

A record is one sample's call on one data line (``Source(file, line, sample)``): a call with an alternate
allele becomes one Observation per allele, a reference or missing call nothing, and a call of a sample the
sample-to-patient table does not link is rejected. A line that is not a VCF record is one rejected record. At
the end each linked sample's DiagnosticReport lists its Observations; it is the record of the header line
that names the sample.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Iterable, Iterator

from mappers import ids, numbers
from mappers.base import Mapped, Rejected, Result, Source
from mappers.vcf import variants
from mappers.vcf.reader import Call, Header

_GENOTYPE = re.compile(r"^[0-9.]+(?:[/|][0-9.]+)*$")


class VcfMapper:
    def __init__(self, header: Header, name: str, subjects: dict[str, dict | str], build: str,
                 source_system: str):
        """``subjects``: sample -> the Patient reference, or the reason it has none."""
        self.header, self.name, self.subjects = header, name, subjects
        self.build, self.source_system = build, source_system
        self._results: dict[str, list[str]] = {sample: [] for sample in header.samples}
        self._annotated: tuple[int, dict[str, dict]] = (0, {})  # (line, alternate -> gene and HGVS)

    def map_calls(self, calls: Iterable[Call | Rejected]) -> Iterator[Result]:
        for call in calls:
            if isinstance(call, Rejected):
                yield call
                continue
            for sample, values in zip(self.header.samples, call.samples):
                yield self._sample_call(call, sample, values)
        yield from self._reports()

    def _sample_call(self, call: Call, sample: str, values: dict[str, str]) -> Result:
        source = Source(self.name, call.line, sample)
        genotype = values.get("GT", "")
        if not _GENOTYPE.match(genotype):
            return Rejected(source, f"GT `{genotype}` is not a genotype such as 0/1, 1|1 or ./.", "GT")
        alleles = [int(allele) for allele in re.split(r"[/|]", genotype) if allele != "."]
        if any(allele > len(call.alternates) for allele in alleles):
            return Rejected(source, f"GT `{genotype}` names an allele the ALT column does not have", "GT")
        carried = sorted({allele for allele in alleles if allele > 0})
        if not carried:
            return Mapped(source)  # the reference, or no call: no variant to report
        subject = self.subjects.get(sample)
        if not isinstance(subject, dict):
            return Rejected(source, subject or f"sample `{sample}` is not in the sample-to-patient table", "sample")
        try:
            observations = [self._observation(call, sample, values, allele, alleles, subject) for allele in carried]
        except ValueError as error:
            return Rejected(source, str(error))
        self._results[sample].extend(observation["id"] for observation in observations)
        return Mapped(source, observations)

    def _observation(self, call: Call, sample: str, values: dict[str, str], allele: int, alleles: list[int],
                     subject: dict) -> dict:
        alternate = call.alternates[allele - 1]
        if not re.fullmatch(r"[ACGTNacgtn]+", alternate):
            raise ValueError(f"ALT `{alternate}` is not a sequence of bases (symbolic alleles are not mapped)")
        copies = alleles.count(allele)
        zygosity = "hemizygous" if len(alleles) == 1 else "homozygous" if copies == len(alleles) else "heterozygous"
        depths = _numbers(values.get("AD"), int)
        if self._annotated[0] != call.line:  # a line's annotations are the same for every sample: parse them once
            self._annotated = (call.line, {})
        cached = self._annotated[1]
        annotation = cached.get(alternate) or cached.setdefault(alternate, _annotation(self.header, call.info,
                                                                                         alternate))
        variant = variants.Variant(
            chromosome=call.chromosome, position=call.position, reference=call.reference,
            alternate=alternate.upper(), zygosity=zygosity, build=self.build, ids=call.ids,
            quality=numbers.decimal(call.quality, "QUAL"), filters=call.filters if call.filters != "PASS" else None,
            depth=numbers.whole(_given(values.get("DP")) or _given(call.info.get("DP")), "DP"),
            allele_depth=depths[allele] if depths and len(depths) > allele else None,
            allele_frequency=_frequency(values, depths, allele), **annotation)
        id_ = ids.resource_id(self.source_system, "Observation", sample, call.chromosome, call.position,
                              call.reference, variant.alternate)
        return variants.observation(id_, variant, subject)

    def _reports(self) -> Iterator[Result]:
        for sample in self.header.samples:
            source = Source(self.name, self.header.line, sample)
            subject = self.subjects.get(sample)
            if not isinstance(subject, dict):
                yield Rejected(source, subject or f"sample `{sample}` is not in the sample-to-patient table", "sample")
                continue
            id_ = ids.resource_id(self.source_system, "DiagnosticReport", sample)
            yield Mapped(source, [variants.report(id_, sample, self.source_system, subject, self._results[sample],
                                                  self.header.file_date)])


def _given(text: str | None) -> str | None:
    """VCF writes `.` for a missing value."""
    return None if text == "." else text


def _numbers(text: str | None, kind) -> list | None:
    if text in (None, "", "."):
        return None
    try:
        return [kind(part) for part in text.split(",")]
    except ValueError:
        return None


def _frequency(values: dict[str, str], depths: list[int] | None, allele: int) -> Decimal | None:
    """FORMAT AF where the caller wrote it (somatic callers), else the allele's share of AD."""
    frequencies = values.get("AF")
    if frequencies not in (None, "", "."):
        parts = frequencies.split(",")
        try:
            return Decimal(parts[allele - 1]) if len(parts) >= allele else None
        except InvalidOperation:
            return None
    if depths and len(depths) > allele and sum(depths) > 0:
        return (Decimal(depths[allele]) / Decimal(sum(depths))).quantize(Decimal("0.001"))
    return None


def _annotation(header: Header, info: dict[str, str], alternate: str) -> dict:
    """Gene and HGVS from snpEff's ANN or VEP's CSQ (the annotation of this allele, else the first), or
    ClinVar's GENEINFO."""
    for key in ("ANN", "CSQ"):
        if key not in info or key not in header.annotations:
            continue
        fields = header.annotations[key]
        entries = [dict(zip(fields, entry.split("|"))) for entry in info[key].split(",")]
        entry = next((entry for entry in entries if entry.get("Allele", "").upper() == alternate.upper()), entries[0])
        # "." is VCF's missing value, inside annotations too: a transcript of "." is no transcript.
        entry = {name: value for name, value in entry.items() if value not in ("", ".")}
        return {"gene": entry.get("Gene_Name") or entry.get("SYMBOL"),
                "transcript": entry.get("Feature_ID") or entry.get("Feature"),
                "hgvs_c": entry.get("HGVS.c") or entry.get("HGVSc"),
                "hgvs_p": entry.get("HGVS.p") or entry.get("HGVSp")}
    gene = info.get("GENEINFO", info.get("GENE", "")).split(":")[0].split("|")[0]
    return {"gene": gene or None}
