"""token parameters (https://hl7.org/fhir/R4/search.html#token): ``code``, ``system|code``, ``|code``,
``system|``; ``:not``, ``:text`` and ``:of-type`` (``type-system|type-code|value`` of an Identifier);
``:below`` and ``:above`` (``system|code`` and the codes under or over it in the system's hierarchy),
``:in`` and ``:not-in`` (a value set's canonical URL), answered from the published terminology."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server.errors import BadRequest
from fhir_server.search.types import composite
from fhir_server.search.types.string import normalize

HIERARCHY_MODIFIERS = frozenset({"below", "above"})
VALUE_SET_MODIFIERS = frozenset({"in", "not-in"})
MODIFIERS = frozenset({"not", "text", "of-type"}) | HIERARCHY_MODIFIERS | VALUE_SET_MODIFIERS


@dataclass(frozen=True)
class TokenValue:
    system: str | None
    code: str | None
    any_system: bool = False


def pairs(value: object) -> list[tuple[str | None, str | None, str | None]]:
    """(system, code, text) of a Coding, CodeableConcept, Identifier, ContactPoint, code or boolean."""
    if isinstance(value, bool):
        return [(None, "true" if value else "false", None)]
    if isinstance(value, str):
        return [(None, value, None)]
    if not isinstance(value, dict):
        return []
    if "coding" in value or ("text" in value and "code" not in value and "value" not in value):
        codings = [pair for coding in value.get("coding", ()) for pair in pairs(coding)]
        text = value.get("text")
        # The text gets a row of its own for `:text`, unless a coding's display already says it (most do: a tenth of
        # a clinical population's rows were such repeats, in the token and the composite tables).
        if text and not any(display == text for _, _, display in codings):
            codings.append((None, None, text))
        return codings
    if "code" in value:
        return [(value.get("system"), value["code"], value.get("display"))]
    if "value" in value:
        text = value.get("type", {}).get("text") if isinstance(value.get("type"), dict) else None
        return [(value.get("system"), str(value["value"]), text)]
    return []


def index(item) -> list[dict]:
    return [{"system": system, "code": code, "text": normalize(text)[:512] if text else None}
            for system, code, text in pairs(item[0])]


def of_type(item) -> list[dict]:
    """Rows for ``:of-type``: an Identifier's type codings, each with its value (composite slots 1 and 2)."""
    value = item[0]
    if not isinstance(value, dict) or not isinstance(value.get("value"), str) or not isinstance(value.get("type"), dict):
        return []
    types = [{"system": coding.get("system"), "code": coding["code"], "text": None}
             for coding in value["type"].get("coding", ()) if isinstance(coding, dict) and "code" in coding]
    return composite.index(([("token", types), ("token", [{"system": None, "code": value["value"], "text": None}])],
                            None))


def parse(raw: str, modifier: str | None, code: str) -> TokenValue | str:
    if modifier not in (None, *MODIFIERS):
        raise BadRequest(f"Modifier `:{modifier}` is not supported for token parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    if modifier == "text" or modifier in VALUE_SET_MODIFIERS:
        return raw
    if modifier == "of-type":
        return _of_type(raw, code)
    system, bar, value = _split_bar(raw)
    if modifier in HIERARCHY_MODIFIERS and not (system and value):
        raise BadRequest(f"`{code}:{modifier}={raw}` needs `system|code`: a hierarchy belongs to one code system.",
                         expression=(f"{code}:{modifier}",))
    if not bar:
        return TokenValue(None, value, any_system=True)
    return TokenValue(system or None, value or None)


def _of_type(raw: str, code: str) -> composite.CompositeValue:
    system, bar, rest = _split_bar(raw)
    type_code, second_bar, value = _split_bar(rest)
    if not (bar and second_bar and type_code and value):
        raise BadRequest(f"`{code}:of-type={raw}` is not `type-system|type-code|value`.", expression=(f"{code}:of-type",))
    return composite.CompositeValue((("token", TokenValue(system or None, type_code)),
                                     ("token", TokenValue(None, value, any_system=True))))


def _split_bar(raw: str) -> tuple[str, str, str]:
    for position, character in enumerate(raw):
        if character == "|" and (position == 0 or raw[position - 1] != "\\"):
            return raw[:position].replace("\\|", "|"), "|", raw[position + 1:].replace("\\|", "|")
    return "", "", raw.replace("\\|", "|")
