"""Brute-force search over raw JSON: the expected answers of the backend contract tests.

Independent of the server's index: the official expressions are evaluated by fhirpathpy (the general
engine, not our compiler) and the matching rules of https://hl7.org/fhir/R4/search.html are written
out here again, plainly, one resource at a time.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from fhirpathpy import evaluate
from fhirpathpy.models import models

from fhir_server.definitions import r4

_RESOLVE_IS = re.compile(r"resolve\(\) is ([A-Za-z]+)")
# R4's expressions apply `as` to collections (`Observation.component.value as Quantity`), which FHIRPath makes an
# error; servers read it item by item, as R5's expressions say with ofType().
_AS = re.compile(r"\(([A-Za-z.]+) as ([A-Za-z]+)\)")


def parameter(resource_type: str, code: str) -> dict:
    for definition in r4()["searchParameters"]:
        if definition["code"] == code and (resource_type in definition["base"] or "Resource" in definition["base"]):
            return definition
    raise KeyError(code)


def parameters_of(resource_type: str) -> list[dict]:
    """Each search parameter of a type once, the type's own before the shared `Resource` ones."""
    seen, found = set(), []
    for definition in r4()["searchParameters"]:
        if (resource_type in definition["base"] or "Resource" in definition["base"]) and definition["code"] not in seen \
                and definition.get("expression"):
            seen.add(definition["code"])
            found.append(definition)
    return found


def values(resource: dict, definition: dict) -> list:
    # fhirpathpy has no resolve(); a relative reference's type prefix says the same here.
    expression = _RESOLVE_IS.sub(lambda match: f"reference.startsWith('{match.group(1)}/')",
                                 definition["expression"])
    expression = _AS.sub(lambda match: f"({match.group(1)}.ofType({match.group(2)}))", expression)
    parts = [part for part in expression.split("|")
             if part.strip().lstrip("(").startswith((resource["resourceType"] + ".", "Resource."))]
    # fhirpathpy finds nothing under `Resource.` on a resource of another type: name the resource's own type.
    own = [re.sub(r"^(\(?)Resource\.", rf"\g<1>{resource['resourceType']}.", part.strip()) for part in parts]
    return [value for part in own for value in evaluate(resource, part, [], models["r4"])]


def matches(resource: dict, resource_type: str, name: str, raw: str, world: dict[str, dict] | None = None) -> bool:
    """Whether ``resource`` matches ``name=raw``; ``world`` maps `Type/id` to every stored resource,
    for chains and _has."""
    world = world or {}
    if name.startswith("_has:"):
        _, source_type, code, inner = name.split(":", 3)
        definition = parameter(source_type, code)
        here = f"{resource_type}/{resource['id']}"
        return any(
            source["resourceType"] == source_type
            and any(isinstance(value, dict) and value.get("reference") == here for value in values(source, definition))
            and matches(source, source_type, inner, raw, world)
            for source in world.values()
        )
    if "." in name:
        head, rest = name.split(".", 1)
        code, _, target_type = head.partition(":")
        definition = parameter(resource_type, code)
        for value in values(resource, definition):
            reference = value.get("reference", "") if isinstance(value, dict) else ""
            target = world.get(reference)
            if target and (not target_type or target["resourceType"] == target_type):
                try:
                    if matches(target, target["resourceType"], rest, raw, world):
                        return True
                except KeyError:  # the target type has no such parameter
                    continue
        return False
    code, _, modifier = name.partition(":")
    definition = parameter(resource_type, code)
    if definition["type"] == "composite":
        return any(_composite(resource, definition, value) for value in raw.split(","))
    found = values(resource, definition)
    if modifier == "of-type":
        return any(_of_type(found, value) for value in raw.split(","))
    if modifier == "missing":
        return (not found) == (raw == "true")
    alternatives = raw.split(",")
    if modifier == "not":
        return not any(_match(definition["type"], None, found, value) for value in alternatives)
    return any(_match(definition["type"], modifier or None, found, value) for value in alternatives)


def _composite(resource: dict, definition: dict, raw: str) -> bool:
    """Some one element the expression selects matches every component's value (search.html#composite)."""
    types = {other["url"]: other["type"] for other in r4()["searchParameters"]}
    parts = raw.split("$")
    for term in (term.strip() for term in definition["expression"].split("|")):
        if term != resource["resourceType"] and not term.startswith(resource["resourceType"] + "."):
            continue
        for position in range(len(evaluate(resource, term, [], models["r4"]))):
            # FHIRPath's System.DateTime is FHIR's dateTime; fhirpathpy only knows the latter.
            if all(_match(types[component["definition"]], None,
                          evaluate(resource, f"({term})[{position}].({component['expression']})"
                                   .replace("as(DateTime)", "as(dateTime)"), [], models["r4"]), part)
                   for component, part in zip(definition["component"], parts)):
                return True
    return False


def _of_type(found: list, raw: str) -> bool:
    system, code, value = raw.split("|")
    return any(isinstance(identifier, dict) and identifier.get("value") == value
               and any(coding.get("system") == (system or None) and coding.get("code") == code
                       for coding in identifier.get("type", {}).get("coding", []))
               for identifier in found)


def _match(kind: str, modifier: str | None, found: list, raw: str) -> bool:
    return {"string": _string, "token": _token, "date": _date, "reference": _reference,
            "quantity": _quantity, "number": _number, "uri": _uri}[kind](modifier, found, raw)


def _plain(text: str) -> str:
    without_marks = "".join(c for c in unicodedata.normalize("NFKD", text) if unicodedata.category(c) != "Mn")
    return unicodedata.normalize("NFC", without_marks).lower()


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        out = []
        for key in ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state",
                    "postalCode", "country"):
            item = value.get(key)
            out += [item] if isinstance(item, str) else [x for x in item or [] if isinstance(x, str)]
        return out
    return []


def _string(modifier, found, raw):
    texts = [text for value in found for text in _strings(value)]
    if modifier == "exact":
        return raw in texts
    if modifier == "contains":
        return any(_plain(raw) in _plain(text) for text in texts)
    return any(_plain(text).startswith(_plain(raw)) for text in texts)


def _codes(value) -> list[tuple]:
    if isinstance(value, bool):
        return [(None, str(value).lower(), None)]
    if isinstance(value, str):
        return [(None, value, None)]
    if isinstance(value, dict):
        if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
            return [c for coding in value.get("coding", []) for c in _codes(coding)] + [(None, None, value.get("text"))]
        if "code" in value:
            return [(value.get("system"), value["code"], value.get("display"))]
        if "value" in value:
            return [(value.get("system"), str(value["value"]), None)]
    return []


def _token(modifier, found, raw):
    codes = [code for value in found for code in _codes(value)]
    if modifier == "text":
        return any(text and _plain(text).startswith(_plain(raw)) for _, _, text in codes)
    if "|" not in raw:
        return any(code == raw for _, code, _ in codes)
    system, code = raw.split("|", 1)
    return any((code == "" or c == code) and (s == (system or None)) for s, c, _ in codes if c is not None)


def _range(text: str) -> tuple[datetime, datetime]:
    """[start, end) of a FHIR date, dateTime or instant; no zone means UTC."""
    match = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?", text)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = timezone.utc if zone in (None, "Z") else timezone(
        (1 if zone[0] == "+" else -1) * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    if month is None:
        return datetime(int(year), 1, 1, tzinfo=tz), datetime(int(year) + 1, 1, 1, tzinfo=tz)
    if day is None:
        start = datetime(int(year), int(month), 1, tzinfo=tz)
        return start, start + timedelta(days=calendar.monthrange(int(year), int(month))[1])
    if hour is None:
        start = datetime(int(year), int(month), int(day), tzinfo=tz)
        return start, start + timedelta(days=1)
    start = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0),
                     int(float(fraction or 0) * 1e6), tzinfo=tz)
    step = timedelta(milliseconds=1) if fraction else timedelta(seconds=1) if second else timedelta(minutes=1)
    return start, start + step


_FAR = timedelta(days=365 * 5000)


def _ranges(value) -> list[tuple[datetime, datetime]]:
    if isinstance(value, str):
        return [_range(value)]
    if isinstance(value, dict) and ("start" in value or "end" in value):
        low = _range(value["start"])[0] if "start" in value else datetime(1, 1, 1, tzinfo=timezone.utc)
        high = _range(value["end"])[1] if "end" in value else datetime(9999, 1, 1, tzinfo=timezone.utc)
        return [(low, high)]
    return []


def _date(modifier, found, raw):
    prefix, text = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
    query_low, query_high = _range(text)
    for low, high in (r for value in found for r in _ranges(value)):
        inside = low >= query_low and high <= query_high
        if {"eq": inside, "ne": not inside, "gt": high > query_high, "lt": low < query_low,
            "ge": high > query_high or inside, "le": low < query_low or inside,
            "sa": low >= query_high, "eb": high <= query_low}[prefix]:
            return True
    return False


def _reference(modifier, found, raw):
    for value in found:
        reference = value.get("reference", "") if isinstance(value, dict) else value
        if "/" in raw and reference == raw:
            return True
        if "/" not in raw and reference.rsplit("/", 1)[-1] == raw:
            return True
    return False


def _number_matches(number: Decimal, raw: str) -> bool:
    prefix, text = (raw[:2], raw[2:]) if raw[:2].isalpha() else ("eq", raw)
    target = Decimal(text)
    half = Decimal(1).scaleb(target.as_tuple().exponent) / 2
    return {"eq": target - half <= number < target + half, "ne": not (target - half <= number < target + half),
            "gt": number > target, "lt": number < target, "ge": number >= target, "le": number <= target}[prefix]


def _quantity(modifier, found, raw):
    number, _, rest = raw.partition("|")
    system, _, code = rest.partition("|")
    for value in found:
        if not isinstance(value, dict) or "value" not in value:
            continue
        if system and value.get("system") != system:
            continue
        if code and (value.get("code") != code if system else code not in (value.get("code"), value.get("unit"))):
            continue
        if _number_matches(Decimal(str(value["value"])), number):
            return True
    return False


def _number(modifier, found, raw):
    return any(_number_matches(Decimal(str(value)), raw) for value in found if not isinstance(value, (dict, bool)))


def _uri(modifier, found, raw):
    texts = [value for value in found if isinstance(value, str)]
    if modifier == "below":
        return any(text.startswith(raw) for text in texts)
    if modifier == "above":
        return any(raw.startswith(text) for text in texts)
    return raw in texts
