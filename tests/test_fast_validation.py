"""The fast proof of validity agrees with fhir.resources over the official R4 examples and systematic mutations of
them: it never proves valid what fhir.resources rejects, so the server accepts and rejects exactly what
fhir.resources does; and it proves most valid resources, or it would not be faster."""

from __future__ import annotations

import copy
import json
import random
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from fhir.resources.R4B import get_fhir_model_class

from fhir_server import json_codec, resources
from fhir_server.errors import InvalidResource
from fhir_server.fast_validation import Prover

EXAMPLES = sorted((Path(__file__).parent / "data" / "r4-examples").glob("*.json"))
MUTATIONS_PER_EXAMPLE = 60

# Replacement values of every JSON kind, chosen to break (or not) each FHIR primitive's rules.
ODD_VALUES = [None, "", " ", "x", "with  two spaces", " padded ", "2021-02-30", "2021-02-03", "2021-02-03T10:00:00",
              "2021-02-03T10:00:00+09:00", "10:61:00", "12:30:00", "-0", "01", "1e3", "true", "http://x y", "urn:oid:1.2",
              "aGVsbG8=", "not base64!", "a" * 65, 0, 1, -1, 2**31, 1.5, Decimal("1.50"), Decimal("-0.0"), True, False,
              [], [None], ["x"], {}, {"extension": []}, {"url": "http://x"}]
CHOICE = re.compile(r"^([a-z][A-Za-z]*?)(Boolean|Integer|Decimal|String|Date|DateTime|Instant|Time|Uri|Url|Canonical|"
                    r"Code|Coding|CodeableConcept|Quantity|Period|Range|Ratio|Reference|Attachment|Identifier|"
                    r"Age|Duration|Timing|Markdown|Base64Binary|PositiveInt|UnsignedInt|Id|Oid|SampledData)$")


def fhir_resources_accepts(resource: object) -> bool:
    """The reference: fhir.resources' model of the resource's type, called directly."""
    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except Exception:
        return False
    return True


def server_accepts(resource: object) -> bool:
    try:
        resources.validate(resource)
    except InvalidResource:
        return False
    return True


def nodes(value, path=()):
    """Every (path, value) of a JSON tree, the root first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from nodes(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nodes(item, path + (index,))


def mutations(resource: dict):
    """Each way of breaking (or keeping) the resource at each node: a list of (description, mutate(copy))."""
    found = []
    for path, value in nodes(resource):
        if isinstance(value, dict):
            for key in value:
                found.append((f"remove {path + (key,)}", _at(path, lambda node, key=key: node.pop(key))))
            found.append((f"unknown key at {path}", _at(path, lambda node: node.__setitem__("unknownElement", 1))))
            found.append((f"resourceType at {path}", _at(path, lambda node: node.__setitem__("resourceType", "Patient"))))
            for key in list(value):
                match = CHOICE.match(key)
                if match:
                    for other, sibling in (("String", "x"), ("Boolean", True), ("CodeableConcept", {"text": "x"})):
                        name = match.group(1) + other
                        if name != key:
                            found.append((f"second choice {name} at {path}",
                                          _at(path, lambda node, name=name, sibling=sibling: node.__setitem__(
                                              name, copy.deepcopy(sibling)))))
                if not isinstance(value[key], (dict, list)):
                    found.append((f"extension sibling of {path + (key,)}",
                                  _at(path, lambda node, key=key: node.__setitem__(
                                      "_" + key, {"extension": [{"url": "http://x", "valueString": "y"}]}))))
                    found.append((f"only the extension sibling of {path + (key,)}",
                                  _at(path, lambda node, key=key: node.__setitem__(
                                      "_" + key, {"extension": [{"url": "http://x", "valueString": "y"}]})
                                      or node.pop(key))))
        if path:
            for odd in ODD_VALUES:
                found.append((f"{path} = {odd!r}", _replace(path, odd)))
        if isinstance(value, list) and value:
            found.append((f"{path} unwrapped", _replace(path, value[0])))
            found.append((f"{path} with a null", _replace(path, [*value, None])))
            found.append((f"{path} doubled", _replace(path, value + value)))
        if isinstance(value, dict) and path:
            found.append((f"{path} wrapped", _replace(path, [value])))
            found.append((f"{path} as JSON text", _replace(path, json_codec.dump(value).decode())))
    return found


def _at(path, change):
    def mutate(resource):
        node = resource
        for step in path:
            node = node[step]
        change(node)
        return resource
    return mutate


def _replace(path, replacement):
    def mutate(resource):
        node = resource
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = copy.deepcopy(replacement)
        return resource
    return mutate


def load(path: Path) -> dict:
    return json_codec.parse(path.read_bytes())


def judged_alike(original: dict, name: str, count: int, prover: Prover) -> None:
    """The resource and ``count`` of its mutations (drawn by ``name``): the proof never accepts what
    fhir.resources rejects, and the server's verdict is fhir.resources'."""
    cases = [("the resource itself", lambda resource: resource)]
    candidates = mutations(original)
    cases += random.Random(name).sample(candidates, min(count, len(candidates)))
    for description, mutate in cases:
        resource = mutate(copy.deepcopy(original))
        expected = fhir_resources_accepts(resource)
        proven = isinstance(resource.get("resourceType"), str) and prover.proves_valid(resource)
        assert not (proven and not expected), f"{name}: {description} proven valid, but fhir.resources rejects it"
        assert server_accepts(resource) == expected, f"{name}: {description}"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_the_server_accepts_and_rejects_what_fhir_resources_does(path):
    judged_alike(load(path), path.name, MUTATIONS_PER_EXAMPLE, Prover(resources._model))


def test_what_the_mappers_make_is_proven_valid_and_its_mutations_judged_as_fhir_resources_does(hospital_population):
    """The synthetic hospital, as the server reads it from NDJSON: the resources bulk loads are made of."""
    folder, _ = hospital_population
    prover = Prover(resources._model)
    by_type = defaultdict(list)
    for path in sorted(folder.glob("*.ndjson")):
        for line in path.read_bytes().splitlines():
            resource = json_codec.parse(line)
            by_type[resource["resourceType"]].append(resource)
    assert len(by_type) >= 8
    for resource_type, found in by_type.items():
        assert all(map(fhir_resources_accepts, found)), resource_type
        assert all(map(prover.proves_valid, found)), resource_type
        for number, resource in enumerate(found[::max(1, len(found) // 4)]):
            judged_alike(resource, f"{resource_type} {number}", 40, prover)


def test_most_valid_examples_are_proven_without_fhir_resources():
    prover = Prover(resources._model)
    valid = [example for example in map(load, EXAMPLES) if fhir_resources_accepts(example)]
    proven = [example for example in valid if prover.proves_valid(example)]
    assert len(proven) >= 0.95 * len(valid), f"{len(proven)} of {len(valid)} valid examples proven"
