"""Regenerate fhir_server/definitions/r4.json from the official FHIR R4 definitions.

Source: the npm package hl7.fhir.r4.examples@4.0.1 (CC0), which holds every StructureDefinition,
SearchParameter and CompartmentDefinition of R4. Usage:

    npm pack hl7.fhir.r4.examples@4.0.1 && tar xzf hl7.fhir.r4.examples-4.0.1.tgz
    python tools/generate_definitions.py package/

The output is compact on purpose: only what the server reads at start-up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent.parent / "fhir_server" / "definitions" / "r4.json"


def resource_types(package: Path) -> list[str]:
    types = []
    for path in package.glob("StructureDefinition-*.json"):
        definition = json.loads(path.read_text())
        if (
            definition.get("kind") == "resource"
            and definition.get("derivation") == "specialization"
            and not definition.get("abstract")
        ):
            types.append(definition["type"])
    return sorted(types)


def search_parameters(package: Path) -> tuple[list[dict], int]:
    """The usable definitions, and how many were skipped for lacking `url` or `base`."""
    parameters, skipped = [], 0
    for path in sorted(package.glob("SearchParameter-*.json")):
        definition = json.loads(path.read_text())
        # A few extension parameters in the package are drafts with neither url nor base.
        if "url" not in definition or "base" not in definition:
            skipped += 1
            continue
        compact = {
            "url": definition["url"],
            "code": definition["code"],
            "base": definition["base"],
            "type": definition["type"],
        }
        for key in ("expression", "target", "modifier", "comparator", "multipleOr", "multipleAnd"):
            if key in definition:
                compact[key] = definition[key]
        if "component" in definition:
            compact["component"] = [
                {"definition": component["definition"], "expression": component["expression"]}
                for component in definition["component"]
            ]
        parameters.append(compact)
    return parameters, skipped


def choice_elements(package: Path) -> dict[str, list[str]]:
    """Each choice element (``Observation.value[x]``) as ``Observation.value`` with its allowed types."""
    choices = {}
    for path in package.glob("StructureDefinition-*.json"):
        definition = json.loads(path.read_text())
        if definition.get("derivation") != "specialization" or definition.get("kind") not in ("resource", "complex-type"):
            continue
        for element in definition.get("snapshot", {}).get("element", []):
            if element["path"].endswith("[x]"):
                choices[element["path"][:-3]] = [kind["code"] for kind in element.get("type", [])]
    return dict(sorted(choices.items()))


def _resource_elements(package: Path):
    """(resource type, top-level element definitions) of each resource StructureDefinition."""
    for path in package.glob("StructureDefinition-*.json"):
        definition = json.loads(path.read_text())
        if definition.get("kind") == "resource" and definition.get("derivation") == "specialization":
            elements = [element for element in definition.get("snapshot", {}).get("element", [])
                        if element["path"].count(".") == 1]
            yield definition["type"], elements


def _top_level_names(package: Path, wanted) -> dict[str, list[str]]:
    return dict(sorted(
        (resource_type, sorted({element["path"].split(".")[1].removesuffix("[x]")
                                for element in elements if wanted(element)}))
        for resource_type, elements in _resource_elements(package)
    ))


def summary_elements(package: Path) -> dict[str, list[str]]:
    """Each resource type's top-level elements marked isSummary, for `_summary=true`."""
    return _top_level_names(package, lambda element: element.get("isSummary"))


def mandatory_elements(package: Path) -> dict[str, list[str]]:
    """Each resource type's top-level elements with min >= 1, kept by `_elements` and `_summary=text`."""
    return _top_level_names(package, lambda element: element.get("min", 0) >= 1)


def composite_item_types(package: Path, parameters: list[dict]) -> dict[str, str]:
    """The data type of each element a composite parameter's expression selects (``ActivityDefinition.useContext``
    is a ``UsageContext``), so its components' choice elements (``value[x]``) resolve. Backbone elements and
    resources are their own path."""
    wanted = {term.strip() for parameter in parameters if parameter["type"] == "composite"
              for term in parameter["expression"].split("|")}
    types = {}
    for path in package.glob("StructureDefinition-*.json"):
        definition = json.loads(path.read_text())
        if definition.get("derivation") != "specialization" or definition.get("kind") != "resource":
            continue
        for element in definition.get("snapshot", {}).get("element", []):
            if element["path"] in wanted:
                kinds = [kind["code"] for kind in element.get("type", [])]
                types[element["path"]] = kinds[0] if kinds and kinds[0] not in ("BackboneElement", "Element") \
                    else element["path"]
    return dict(sorted(types.items()))


def compartments(package: Path) -> dict[str, dict[str, list[str]]]:
    result = {}
    for path in sorted(package.glob("CompartmentDefinition-*.json")):
        definition = json.loads(path.read_text())
        if definition.get("id") == "example":
            continue
        result[definition["code"]] = {
            entry["code"]: entry["param"] for entry in definition.get("resource", []) if entry.get("param")
        }
    return result


def main(package_dir: str) -> None:
    package = Path(package_dir)
    parameters, skipped = search_parameters(package)
    definitions = {
        "source": "hl7.fhir.r4.examples@4.0.1 (CC0), generated by tools/generate_definitions.py",
        "fhirVersion": "4.0.1",
        "resourceTypes": resource_types(package),
        "searchParameters": parameters,
        "compartments": compartments(package),
        "choiceElements": choice_elements(package),
        "compositeItemTypes": composite_item_types(package, parameters),
        "summaryElements": summary_elements(package),
        "mandatoryElements": mandatory_elements(package),
    }
    OUTPUT.write_text(json.dumps(definitions, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUTPUT}: {len(definitions['resourceTypes'])} resource types, "
          f"{len(parameters)} search parameters ({skipped} incomplete ones skipped)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "package")
