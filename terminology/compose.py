"""ValueSet.compose evaluated over the loaded code systems (https://hl7.org/fhir/R4/valueset.html#compose).

An include selects a system's concepts: those it lists, or those its filters (ANDed) select, within
the value sets it names; excludes are taken away. The filters understood, per the properties every
system here has (https://hl7.org/fhir/R4/codesystem.html#defined-props):

- ``concept`` (or ``code``) with ``is-a`` (the code and everything below it), ``descendent-of``
  (below it only), ``is-not-a`` (everything but the code and what is below it), ``=`` (the code) and
  ``in`` (comma-separated codes); ``regex`` over the code.
- ``display`` with ``regex`` (the whole display, as FHIR regex filters match) or ``=``.
- ``parent`` or ``child`` with ``=``: the direct children or the direct parents of a code.
- ``kind`` with ``=`` or ``in``: the level in the hierarchy, e.g. ICD-10 ``chapter``, ``block``,
  ``category``, ``subcategory``.
- ``inactive`` with ``=`` (true or false).
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from terminology.codesystem import CodeSystem
from terminology.errors import InvalidFilter, UnsupportedFilter

Member = tuple[str, str]  # (system URL, code)
_NESTED_REPETITION = re.compile(r"\([^)]*[+*}][^)]*\)\s*[+*{]")  # (a+)+: exponential backtracking
SUPPORTED = {"concept": ("is-a", "descendent-of", "is-not-a", "=", "in", "regex"),
             "display": ("regex", "="), "parent": ("=",), "child": ("=",), "kind": ("=", "in"), "inactive": ("=",)}


def evaluate(compose: dict, system: Callable[[str], CodeSystem],
             value_set: Callable[[str], Iterable[Member]]) -> list[Member]:
    """The members of ``compose``, in include order; ``system(url)`` and ``value_set(url)`` resolve references."""
    included: dict[Member, None] = {}
    for include in compose.get("include", ()):
        included.update(dict.fromkeys(_selected(include, system, value_set)))
    for exclude in compose.get("exclude", ()):
        for member in _selected(exclude, system, value_set):
            included.pop(member, None)
    return list(included)


def _selected(include: dict, system: Callable[[str], CodeSystem], value_set) -> list[Member]:
    within = None
    for url in include.get("valueSet", ()):
        members = set(value_set(url))
        within = members if within is None else within & members
    url = include.get("system")
    if url is None:
        if within is None:
            raise InvalidFilter("A compose include needs a `system` or a `valueSet`.")
        return sorted(within)
    code_system = system(url)
    if include.get("concept"):
        codes = []
        for concept in include["concept"]:
            if concept.get("code") not in code_system:
                raise InvalidFilter(f"`{concept.get('code')}` is not a code of `{url}`.")
            codes.append(concept["code"])
    else:
        codes = list(code_system.concepts)
    for condition in include.get("filter", ()):
        keep = _filter(code_system, condition)
        codes = [code for code in codes if keep(code)]
    members = [(url, code) for code in codes]
    return members if within is None else [member for member in members if member in within]


def _filter(code_system: CodeSystem, condition: dict) -> Callable[[str], bool]:
    prop, op, value = condition.get("property"), condition.get("op"), condition.get("value")
    prop = "concept" if prop == "code" else prop
    if prop not in SUPPORTED or op not in SUPPORTED[prop]:
        supported = "; ".join(f"{name}: {', '.join(ops)}" for name, ops in SUPPORTED.items())
        raise UnsupportedFilter(f"The filter `{prop} {op}` is not supported for `{code_system.url}`; "
                                f"supported: {supported}.")
    if not isinstance(value, str) or not value:
        raise InvalidFilter(f"The filter `{prop} {op}` needs a value.")
    if op == "regex":
        if len(value) > 200 or _NESTED_REPETITION.search(value):
            raise InvalidFilter(f"The filter regex `{value[:50]}` is refused: at most 200 characters and no repeated "
                                "group that itself repeats (it could run for minutes).")
        try:
            pattern = re.compile(value)
        except re.error as error:
            raise InvalidFilter(f"The filter regex `{value}` does not compile: {error}.") from None
        if prop == "concept":
            return lambda code: pattern.fullmatch(code) is not None
        return lambda code: pattern.fullmatch(code_system.concepts[code].display) is not None
    if prop == "display":
        return lambda code: code_system.concepts[code].display == value
    if prop == "kind":
        kinds = set(value.split(","))
        return lambda code: code_system.concepts[code].kind in kinds
    if prop == "inactive":
        if value not in ("true", "false"):
            raise InvalidFilter(f"The filter `inactive =` takes true or false, not `{value}`.")
        return lambda code: (not code_system.concepts[code].active) == (value == "true")
    if op == "in":
        codes = set(value.split(","))
        return codes.__contains__
    if value not in code_system:
        raise InvalidFilter(f"`{value}` is not a code of `{code_system.url}`.")
    if prop == "parent":
        return set(code_system.children.get(value, ())).__contains__
    if prop == "child":
        return set(code_system.parents.get(value, ())).__contains__
    if op == "=":
        return value.__eq__
    below = set(code_system.descendants(value))
    if op == "is-a":
        below.add(value)
        return below.__contains__
    if op == "descendent-of":
        return below.__contains__
    below.add(value)  # is-not-a
    return lambda code: code not in below
