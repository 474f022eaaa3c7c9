"""The CONCEPT table as codings: a concept id becomes the standard vocabulary's code in its FHIR system.

Only the concepts the clinical tables use are kept in memory (a full Athena vocabulary has millions).
"""

from __future__ import annotations

from dataclasses import dataclass

# OMOP vocabulary_id -> FHIR code system URL (https://terminology.hl7.org/external_terminologies.html).
SYSTEMS = {
    "SNOMED": "http://snomed.info/sct", "LOINC": "http://loinc.org",
    "RxNorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "RxNorm Extension": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "ICD10": "http://hl7.org/fhir/sid/icd-10", "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "ICD9CM": "http://terminology.hl7.org/CodeSystem/icd9cm", "KCD7": "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8",
    "CVX": "http://hl7.org/fhir/sid/cvx", "NDC": "http://hl7.org/fhir/sid/ndc", "UCUM": "http://unitsofmeasure.org",
    "CPT4": "http://www.ama-assn.org/go/cpt", "HCPCS": "http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets",
    "ATC": "http://www.whocc.no/atc", "OMOP Extension": "http://fhir-server.kr/omop/vocabulary/OMOP-Extension",
}
DIAGNOSIS_VOCABULARIES = ("ICD10", "ICD10CM", "KCD7")  # source codes that go through the normalizer


@dataclass(frozen=True, slots=True)
class Concept:
    id: int
    vocabulary: str
    code: str
    name: str

    @property
    def system(self) -> str:
        return SYSTEMS.get(self.vocabulary, f"http://fhir-server.kr/omop/vocabulary/{self.vocabulary.replace(' ', '-')}")

    def coding(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.name}


class Concepts:
    def __init__(self, concepts: dict[int, Concept]):
        self._concepts = concepts

    def get(self, concept_id) -> Concept | None:
        """The concept, or None for 0 (no matching concept), an empty cell or an id the table lacks."""
        try:
            number = int(concept_id)
        except (TypeError, ValueError):
            return None
        return self._concepts.get(number) if number else None

    def __len__(self) -> int:
        return len(self._concepts)
