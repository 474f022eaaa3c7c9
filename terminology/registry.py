"""Every loaded code system by canonical URL: the single dispatch table.

ICD-10 and Orphanet are always there (shipped); KCD, the rare-disease copayment list, newer Orphadata
releases, ICD-O-3, SNOMED CT and LOINC come from files a deployer loaded into a terminology folder
(see ``supplied.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from terminology import supplied
from terminology.codesystem import CodeSystem
from terminology.errors import UnknownSystem
from terminology.systems import copayment, icd10, kcd, orphanet

__all__ = ["Terminology", "UnknownSystem", "load"]


@dataclass
class Terminology:
    icd10: CodeSystem
    orphanet: orphanet.Orphanet
    copayment: copayment.Copayment
    kcd: CodeSystem | None = None
    licensed: dict[str, CodeSystem] = field(default_factory=dict)  # ICD-O-3, SNOMED CT, LOINC when loaded

    @property
    def systems(self) -> dict[str, CodeSystem]:
        found = {icd10.URL: self.icd10, orphanet.URL: self.orphanet.code_system, **self.licensed}
        if self.kcd is not None:
            found[kcd.URL] = self.kcd
            found.update((url, self.kcd) for edition, url in kcd.EDITION_URLS.items() if edition == self.kcd.version)
        return found

    def system(self, url: str) -> CodeSystem:
        try:
            return self.systems[url]
        except KeyError:
            known = ", ".join(f"`{known}`" for known in sorted(self.systems))
            raise UnknownSystem(f"The code system `{url}` is not known here; known: {known}.") from None


def load(folder: Path | None = None) -> Terminology:
    """The shipped systems plus whatever was loaded into ``folder``."""
    base = icd10.load()
    orphadata = folder / supplied.ORPHADATA if folder is not None else None
    terminology = Terminology(base, orphanet.load(orphadata if orphadata and orphadata.exists() else None),
                              copayment.load_cancer_rule())
    if folder is not None:
        supplied.apply(folder, terminology)
    return terminology
