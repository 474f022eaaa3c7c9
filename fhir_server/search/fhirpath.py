"""Search parameter expressions compiled once into small extractor functions.

The official R4 SearchParameter expressions use a small part of FHIRPath
(https://hl7.org/fhirpath/): element paths, ``|`` unions, ``as``/``as()``/``ofType()`` casts,
``where(resolve() is Type)``, ``where(field='literal')``, ``where(hasExtension('url'))``,
``extension('url')``, ``[n]`` and ``X.exists() and X != false`` (Patient ``deceased``). Those compile to
closures that walk the JSON and tag each value with its FHIR type where the element is a choice
(``valueQuantity`` -> ``Quantity``). Anything else is evaluated by fhirpathpy, the general engine, as a fallback.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable

from fhir_server.definitions import r4

Item = tuple[object, str | None]  # a value and its FHIR type when known
Extractor = Callable[[dict], list[Item]]  # with a ``roots`` attribute: see Compiled
_Step = Callable[[list[Item]], list[Item]]

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_INDEX = re.compile(r"([A-Za-z][A-Za-z0-9]*)\[(\d+)\]")
_CALL = re.compile(r"([A-Za-z]+)\((.*)\)", re.S)
_AS_SUFFIX = re.compile(r"(.*\S)\s+as\s+([A-Za-z]+)", re.S)
_RESOLVE_IS = re.compile(r"resolve\(\)\s+is\s+([A-Za-z]+)")
_EQUALS = re.compile(r"([a-z][A-Za-z0-9]*)\s*=\s*'([^']*)'")
_QUOTED = re.compile(r"'([^']*)'")
_EXISTS_AND_NOT_FALSE = re.compile(r"(.+)\.exists\(\)\s+and\s+(.+?)\s*!=\s*false", re.S)


class Unsupported(Exception):
    """The expression needs the general FHIRPath engine."""


def compile_expression(expression: str, resource_type: str) -> Extractor:
    """An extractor for the parts of ``expression`` that apply to ``resource_type``."""
    try:
        return _compile_union(expression, resource_type)
    except Unsupported:
        return _fallback(expression)


def compile_on_element(expression: str, path: str) -> "Compiled":
    """An extractor of a path relative to an element at ``path`` (``value.as(Quantity)`` on
    ``Observation.component``), for composite components; raises Unsupported rather than falling back."""
    return _compile_union(expression, path)


def problem_with(expression: str, resource_type: str) -> str | None:
    """Why ``expression`` cannot be evaluated on a ``resource_type``, or None if it can."""
    if is_compiled(expression, resource_type):
        return None
    from fhirpathpy import compile as compile_fhirpath
    from fhirpathpy.models import models
    try:  # fhirpathpy reports most mistakes only when it first evaluates
        compile_fhirpath(expression, models["r4"])({"resourceType": resource_type})
    except Exception as error:  # its parser and evaluator raise plain Exceptions
        return str(error) or type(error).__name__
    return None


def is_compiled(expression: str, resource_type: str) -> bool:
    try:
        _compile_union(expression, resource_type)
        return True
    except Unsupported:
        return False


class Compiled:
    """A compiled expression: call it on a resource. ``roots`` are the top-level elements it can start
    from (None if unknown), so a resource with none of them is skipped without walking it."""

    __slots__ = ("_terms", "_resource_type", "roots")

    def __init__(self, terms: list[_Step], resource_type: str, roots: frozenset[str] | None):
        self._terms, self._resource_type, self.roots = terms, resource_type, roots

    def __call__(self, resource: dict) -> list[Item]:
        return self.on((resource, self._resource_type))

    def on(self, item: Item) -> list[Item]:
        found: list[Item] = []
        for term in self._terms:
            found.extend(term([item]))
        return found


def _compile_union(expression: str, resource_type: str) -> Compiled:
    terms, roots = [], set()
    for text in split_top(expression, "|"):
        term = _compile_term(text.strip(), resource_type)
        if term is not None:
            terms.append(term)
            term_roots = _roots(text.strip(), resource_type)
            roots = None if term_roots is None or roots is None else roots | term_roots
    return Compiled(terms, resource_type, frozenset(roots) if roots is not None else None)


def _roots(term: str, resource_type: str) -> set[str] | None:
    """The JSON keys of the resource a term's first step reads, or None if it is not a plain element."""
    term = _strip_parentheses(term)
    if _flag(term) is not None:
        return None  # a resource without the element has a value too: false
    cast = _AS_SUFFIX.fullmatch(term)
    cast_type = None
    if cast:
        term, cast_type = cast.group(1), cast.group(2)
    segments = split_top(_strip_parentheses(term), ".")
    if segments[0].startswith("("):
        return _roots(segments[0][1:-1], resource_type)
    if segments[0] not in ("Resource", "DomainResource", resource_type):
        segments = [resource_type, *segments]
    if len(segments) < 2:
        return None
    first = segments[1]
    indexed = _INDEX.fullmatch(first)
    name = indexed.group(1) if indexed else first
    if first.startswith("extension("):
        return {"extension"}
    if not _NAME.fullmatch(name):
        return None
    choice_types = r4()["choiceElements"].get(f"{resource_type}.{name}")
    if not choice_types:
        return {name}
    # A cast of the choice element itself (`Observation.value as dateTime`, `Observation.value.as(Quantity)`)
    # reads only that type's key.
    call = _CALL.fullmatch(segments[2]) if len(segments) > 2 else None
    if call and call.group(1) in ("as", "ofType"):
        cast_type = call.group(2).strip()
    elif len(segments) > 2 or indexed:
        cast_type = None
    if cast_type is not None:
        choice_types = [kind for kind in choice_types if kind == _SYSTEM_TYPES.get(cast_type, cast_type)]
    return {name + kind[0].upper() + kind[1:] for kind in choice_types}


def _compile_term(term: str, resource_type: str) -> _Step | None:
    term = _strip_parentheses(term)
    flag = _flag(term)
    if flag is not None:
        inner = _compile_term(flag, resource_type)
        return None if inner is None else _then(inner, _exists_and_not_false)
    cast = _AS_SUFFIX.fullmatch(term)
    if cast and "(" not in cast.group(2):
        inner = _compile_term(cast.group(1), resource_type)
        return None if inner is None else _then(inner, _as(cast.group(2)))
    segments = split_top(term, ".")
    head = segments[0]
    if head.startswith("(") and head.endswith(")"):
        # `(Observation.value as CodeableConcept).text`: the cast's result, then more path.
        inner = _compile_term(head[1:-1], resource_type)
        if inner is None:
            return None
        cast = _AS_SUFFIX.fullmatch(head[1:-1].strip())
        steps, path = [inner], cast.group(2) if cast else resource_type
    elif head in ("Resource", "DomainResource", resource_type):
        steps, path = [], resource_type
    elif _NAME.fullmatch(head) and head[0].isupper():
        return None  # another resource type's part of a shared parameter
    elif _NAME.fullmatch(head):
        steps, path, segments = [], resource_type, [resource_type, *segments]  # a path relative to the resource
    else:
        raise Unsupported(term)
    for segment in segments[1:]:
        step, path = _compile_segment(segment, path)
        steps.append(step)
    return _chain(steps)


def _compile_segment(segment: str, path: str) -> tuple[_Step, str]:
    indexed = _INDEX.fullmatch(segment)
    if indexed:
        name, position = indexed.group(1), int(indexed.group(2))
        field = _field(name, path)
        return _then(field, lambda items: items[position:position + 1]), f"{path}.{name}"
    if _NAME.fullmatch(segment):
        return _field(segment, path), f"{path}.{segment}"
    call = _CALL.fullmatch(segment)
    if not call:
        raise Unsupported(segment)
    function, argument = call.group(1), call.group(2).strip()
    if function in ("as", "ofType") and _NAME.fullmatch(argument):
        return _as(argument), argument
    if function == "extension" and _QUOTED.fullmatch(argument):
        return _extension(_QUOTED.fullmatch(argument).group(1)), "Extension"
    if function == "where":
        return _where(argument), path
    raise Unsupported(segment)


def _field(name: str, path: str) -> _Step:
    choice_types = r4()["choiceElements"].get(f"{path}.{name}")
    if choice_types:
        keys = [(name + kind[0].upper() + kind[1:], kind) for kind in choice_types]

        def choice(items: list[Item]) -> list[Item]:
            return [(child, kind) for value, _ in items if isinstance(value, dict)
                    for key, kind in keys if key in value for child in _flatten(value[key])]
        return choice

    def plain(items: list[Item]) -> list[Item]:
        return [(child, None) for value, _ in items if isinstance(value, dict) and name in value
                for child in _flatten(value[name])]
    return plain


# FHIRPath's System types as written in a few R4 expressions (`value.as(DateTime)`) name FHIR primitives.
_SYSTEM_TYPES = {"Boolean": "boolean", "String": "string", "Integer": "integer", "Decimal": "decimal",
                 "Date": "date", "DateTime": "dateTime", "Time": "time"}


def _as(kind: str) -> _Step:
    kind = _SYSTEM_TYPES.get(kind, kind)
    return lambda items: [(value, tag) for value, tag in items if tag == kind or (tag is None and _looks(value, kind))]


def _looks(value: object, kind: str) -> bool:
    # After a plain (non-choice) element the type is not tagged; the cast then only checks the shape.
    return isinstance(value, dict) if kind[0].isupper() else isinstance(value, str)


def _extension(url: str) -> _Step:
    return lambda items: [(extension, "Extension") for value, _ in items if isinstance(value, dict)
                          for extension in value.get("extension", ()) if extension.get("url") == url]


def _where(condition: str) -> _Step:
    resolve_is = _RESOLVE_IS.fullmatch(condition)
    if resolve_is:
        wanted = resolve_is.group(1)
        return lambda items: [item for item in items if _reference_type(item[0]) == wanted]
    equals = _EQUALS.fullmatch(condition)
    if equals:
        field, literal = equals.groups()
        return lambda items: [item for item in items if isinstance(item[0], dict) and item[0].get(field) == literal]
    has_extension = _CALL.fullmatch(condition)
    if has_extension and has_extension.group(1) == "hasExtension" and _QUOTED.fullmatch(has_extension.group(2)):
        url = _QUOTED.fullmatch(has_extension.group(2)).group(1)
        return lambda items: [item for item in items if isinstance(item[0], dict) and
                              any(extension.get("url") == url for extension in item[0].get("extension", ()))]
    raise Unsupported(condition)


def _reference_type(value: object) -> str | None:
    """The resource type a Reference points at, from `reference` (relative or absolute) or `type`."""
    if not isinstance(value, dict):
        return None
    reference = value.get("reference")
    if isinstance(reference, str) and "/" in reference:
        parts = reference.split("/_history/")[0].rstrip("/").split("/")
        if len(parts) >= 2:
            return parts[-2]
    return value.get("type")


def _flag(term: str) -> str | None:
    """X of ``X.exists() and X != false``, a boolean flag such as Patient ``deceased``; None for other terms."""
    flag = _EXISTS_AND_NOT_FALSE.fullmatch(term)
    return flag.group(1).strip() if flag and flag.group(1).strip() == flag.group(2).strip() else None


def _exists_and_not_false(items: list[Item]) -> list[Item]:
    """False without X; else whether X is anything but one boolean false (in FHIRPath, ``!=`` between different types,
    or between collections of different sizes, is true). fhirpathpy evaluated it at 44 µs a Patient."""
    return [(bool(items) and not (len(items) == 1 and items[0][0] is False), None)]


def _flatten(value: object) -> Iterable[object]:
    return value if isinstance(value, list) else (value,)


def _chain(steps: list[_Step]) -> _Step:
    def run(items: list[Item]) -> list[Item]:
        for step in steps:
            items = step(items)
            if not items:
                break
        return items
    return run


def _then(first: _Step, second: _Step) -> _Step:
    return lambda items: second(first(items))


def split_top(text: str, separator: str) -> list[str]:
    """Split on ``separator`` outside parentheses, brackets and quotes."""
    parts, depth, quoted, current = [], 0, False, []
    for character in text:
        if character == "'":
            quoted = not quoted
        elif not quoted and character in "([":
            depth += 1
        elif not quoted and character in ")]":
            depth -= 1
        if character == separator and depth == 0 and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current))
    return [part.strip() for part in parts]


def _strip_parentheses(term: str) -> str:
    while term.startswith("(") and term.endswith(")") and split_top(term[1:-1], "|") == [term[1:-1].strip()] \
            and _balanced(term[1:-1]):
        term = term[1:-1].strip()
    return term


def _balanced(text: str) -> bool:
    depth = 0
    for character in text:
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth < 0:
            return False
    return depth == 0


def _fallback(expression: str) -> Extractor:
    from fhirpathpy import compile as compile_fhirpath
    from fhirpathpy.models import models

    evaluate = compile_fhirpath(expression, models["r4"])

    def extract(resource: dict) -> list[Item]:
        try:
            return [(value, None) for value in evaluate(resource)]
        except Exception:  # the general engine fails on odd data; such a resource gets no index value
            return []
    extract.roots = None
    return extract
