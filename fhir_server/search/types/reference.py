"""reference parameters (https://hl7.org/fhir/R4/search.html#reference): ``Type/id``, a bare id
(with ``:Type`` or a single target type), an absolute URL, ``:identifier``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fhir_server.errors import BadRequest

_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")  # fits search_reference.target_type; longer is no FHIR type


@dataclass(frozen=True)
class ReferenceValue:
    target_type: str | None
    target_id: str | None
    url: str | None = None


def parts(reference: str) -> tuple[str | None, str | None]:
    """(type, id) of `Type/id`, `Type/id/_history/n` or an absolute URL ending so; else (None, None)."""
    segments = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(segments) >= 2 and _TYPE.fullmatch(segments[-2]):
        return segments[-2], segments[-1]
    return None, None


def index(item) -> list[dict]:
    value = item[0]
    if isinstance(value, str):  # a canonical or uri target
        target_type, target_id = parts(value)
        return [{"target_type": target_type, "target_id": target_id, "url": value}]
    if not isinstance(value, dict) or not isinstance(value.get("reference"), str):
        return []
    reference = value["reference"]
    if reference.startswith("#"):
        return []  # contained resources are not searchable targets
    target_type, target_id = parts(reference)
    is_relative = target_type is not None and reference.split("/")[0] == target_type
    return [{"target_type": target_type, "target_id": target_id,
             "url": None if is_relative else reference}]


def identifier_of(item) -> list[tuple[str | None, str]]:
    """The Reference.identifier, for `:identifier`."""
    value = item[0]
    identifier = value.get("identifier") if isinstance(value, dict) else None
    if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
        return [(identifier.get("system"), identifier["value"])]
    return []


def parse(raw: str, modifier: str | None, code: str, targets: tuple[str, ...], base_url: str) -> ReferenceValue:
    if modifier is not None and not _TYPE.fullmatch(modifier):
        raise BadRequest(f"Modifier `:{modifier}` is not supported for reference parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    if modifier and targets and modifier not in targets:
        raise BadRequest(f"`{code}` cannot refer to a `{modifier}`; it refers to {', '.join(targets)}.",
                         expression=(f"{code}:{modifier}",))
    if base_url and raw.startswith(base_url + "/"):
        raw = raw[len(base_url) + 1:]
    if "://" in raw or raw.startswith("urn:"):
        target_type, target_id = parts(raw)
        return ReferenceValue(target_type, target_id, raw)
    if "/" in raw:
        target_type, target_id = parts(raw)
        if target_type is None:
            raise BadRequest(f"`{code}={raw}` is neither `Type/id`, an id nor an absolute URL.", expression=(code,))
        if modifier and modifier != target_type:
            raise BadRequest(f"`{code}:{modifier}={raw}` names two different types.", expression=(code,))
        return ReferenceValue(target_type, target_id)
    target_type = modifier or (targets[0] if len(targets) == 1 else None)
    return ReferenceValue(target_type, raw)
