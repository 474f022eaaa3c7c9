"""uri parameters (https://hl7.org/fhir/R4/search.html#uri): exact, ``:below`` (the value starts with
the search URI) and ``:above`` (the search URI starts with the value)."""

from __future__ import annotations

from fhir_server.errors import BadRequest

MODIFIERS = frozenset({"below", "above"})


def index(item) -> list[dict]:
    value = item[0]
    return [{"value": value[:2048]}] if isinstance(value, str) else []


def parse(raw: str, modifier: str | None, code: str) -> str:
    if modifier not in (None, *MODIFIERS):
        raise BadRequest(f"Modifier `:{modifier}` is not supported for uri parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    return raw
