"""One variant call as a Genomics Reporting "variant" Observation: LOINC 69548-6 (Genetic variant
assessment) = Present, with the standard components for gene, HGVS, position, alleles, build, zygosity,
depth and allele frequency (https://hl7.org/fhir/uv/genomics-reporting/STU2/StructureDefinition-variant.html).
VCF's QUAL, DP and FILTER have no LOINC code; they are components coded in this server's ``vcf`` system.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LOINC = "http://loinc.org"
VCF = "http://fhir-server.kr/CodeSystem/vcf"
HGVS = "http://varnomen.hgvs.org"
HGNC_SYMBOL = "http://www.genenames.org"
DBSNP = "http://www.ncbi.nlm.nih.gov/projects/SNP"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
BUILDS = {"GRCh37": ("LA14029-5", "GRCh37"), "GRCh38": ("LA26806-2", "GRCh38")}
ZYGOSITY = {"heterozygous": ("LA6706-1", "Heterozygous"), "homozygous": ("LA6705-3", "Homozygous"),
            "hemizygous": ("LA6707-9", "Hemizygous")}


@dataclass
class Variant:
    """What one sample's call says about one alternate allele."""

    chromosome: str
    position: int
    reference: str
    alternate: str
    zygosity: str
    build: str
    ids: list[str]
    quality: Decimal | None = None
    depth: int | None = None
    allele_depth: int | None = None
    allele_frequency: Decimal | None = None
    filters: str | None = None
    gene: str | None = None
    transcript: str | None = None
    hgvs_c: str | None = None
    hgvs_p: str | None = None


def _loinc(code: str, display: str) -> dict:
    return {"coding": [{"system": LOINC, "code": code, "display": display}]}


def _component(code: str, display: str, system: str = LOINC, **value) -> dict:
    return {"code": {"coding": [{"system": system, "code": code, "display": display}]}, **value}


def _concept(system: str, code: str, display: str | None = None) -> dict:
    coding = {"system": system, "code": code}
    if display:
        coding["display"] = display
    return {"valueCodeableConcept": {"coding": [coding]}}


def observation(id_: str, variant: Variant, subject: dict) -> dict:
    build_code, build_display = BUILDS[variant.build]
    zygosity_code, zygosity_display = ZYGOSITY[variant.zygosity]
    components = []
    if variant.gene:
        components.append(_component("48018-6", "Gene studied [ID]", **_concept(HGNC_SYMBOL, variant.gene)))
    if variant.hgvs_c:
        hgvs = f"{variant.transcript}:{variant.hgvs_c}" if variant.transcript and ":" not in variant.hgvs_c \
            else variant.hgvs_c
        components.append(_component("48004-6", "DNA change (c.HGVS)", **_concept(HGVS, hgvs)))
    if variant.hgvs_p:
        components.append(_component("48005-3", "Amino acid change (pHGVS)", **_concept(HGVS, variant.hgvs_p)))
    components += [
        _component("62374-4", "Human reference sequence assembly version",
                   **_concept(LOINC, build_code, build_display)),
        _component("48000-4", "Chromosome", valueString=variant.chromosome),
        _component("92822-6", "Genomic coordinate system",
                   **_concept(LOINC, "LA30102-0", "1-based character counting")),
        _component("81254-5", "Genomic allele start-end", valueRange={
            "low": {"value": variant.position},
            "high": {"value": variant.position + len(variant.reference) - 1}}),
        _component("69547-8", "Genomic ref allele [ID]", valueString=variant.reference),
        _component("69551-0", "Genomic alt allele [ID]", valueString=variant.alternate),
        _component("53034-5", "Allelic state", **_concept(LOINC, zygosity_code, zygosity_display)),
    ]
    components += [_component("81255-2", "dbSNP [ID]", **_concept(DBSNP, rs)) for rs in variant.ids
                   if rs.startswith("rs")]
    if variant.allele_depth is not None:
        components.append(_component("82121-5", "Allelic read depth", valueQuantity={"value": variant.allele_depth}))
    if variant.allele_frequency is not None:
        components.append(_component("81258-6", "Sample variant allelic frequency [NFr]",
                                     valueQuantity={"value": variant.allele_frequency, "system":
                                                    "http://unitsofmeasure.org", "code": "1"}))
    if variant.depth is not None:
        components.append(_component("DP", "Read depth", VCF, valueQuantity={"value": variant.depth}))
    if variant.quality is not None:
        components.append(_component("QUAL", "Phred-scaled quality", VCF, valueQuantity={"value": variant.quality}))
    if variant.filters:
        components.append(_component("FILTER", "Filter status", VCF, valueString=variant.filters))
    return {
        "resourceType": "Observation", "id": id_, "status": "final",
        "category": [{"coding": [{"system": CATEGORY, "code": "laboratory"}]}],
        "code": _loinc("69548-6", "Genetic variant assessment"), "subject": subject,
        "valueCodeableConcept": _loinc("LA9633-4", "Present"), "component": components,
    }


def report(id_: str, sample: str, source_system: str, subject: dict, results: list[str],
           file_date: str | None) -> dict:
    """The sample's DiagnosticReport (LOINC 81247-9, the genetic variant reporting panel) listing its variants."""
    found = {
        "resourceType": "DiagnosticReport", "id": id_, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "GE",
                                  "display": "Genetics"}]}],
        "code": _loinc("81247-9", "Master HL7 genetic variant reporting panel"), "subject": subject,
        "identifier": [{"system": source_system, "value": sample}],
        "result": [{"reference": f"Observation/{result}"} for result in results],
    }
    if file_date and len(file_date) == 8 and file_date.isdigit():
        found["effectiveDateTime"] = f"{file_date[:4]}-{file_date[4:6]}-{file_date[6:]}"
    return found
