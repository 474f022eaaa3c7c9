"""Diagnosis codes as a mapper writes them: the source's coding kept as written, the normalized coding(s)
added (https://hl7.org/fhir/R4/datatypes.html#CodeableConcept: several codings of one concept).

Every mapper sends diagnosis codes through the terminology normalizer, so a cohort finds `C509` from one
hospital and `C50.9` from another alike.
"""

from __future__ import annotations

from terminology.normalize import Normalizer

from mappers.base import RecordError


def diagnosis_concept(normalizer: Normalizer, code: str, system: str | None, display: str | None = None, *,
                      keep_unrecognized: bool = False, field: str = "code") -> dict:
    """The CodeableConcept of a diagnosis. A code of a system the normalizer knows (ICD-10, KCD, ORPHA, or
    no system given) that it does not recognize raises RecordError unless ``keep_unrecognized`` (then only
    the source coding is kept); codes of other systems, such as SNOMED CT, are kept as they are."""
    written = code.strip()
    if not written:
        raise RecordError("the diagnosis code is empty", field)
    original = {"system": system, "code": written} if system else {"code": written}
    if display:
        original["display"] = display
    if not normalizer.handles(system):
        return _concept([original], display)
    normalized = normalizer.normalize(code, system)
    if not normalized.recognized:
        if not keep_unrecognized:
            raise RecordError(f"diagnosis code `{written}` is not recognized: {'; '.join(normalized.notes)}", field)
        return _concept([original], display)
    codings = [original]
    for coding in normalized.codings:
        if (coding.system, coding.code) == (original.get("system"), written):
            original.setdefault("display", coding.display)
            original.setdefault("version", coding.version)
            continue
        codings.append({"system": coding.system, "version": coding.version, "code": coding.code,
                        "display": coding.display})
    return _concept(codings, display)


def _concept(codings: list[dict], text: str | None) -> dict:
    return {"coding": codings, "text": text} if text else {"coding": codings}
