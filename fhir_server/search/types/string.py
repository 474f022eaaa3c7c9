"""string parameters (https://hl7.org/fhir/R4/search.html#string): case- and accent-insensitive
starts-with by default, ``:exact`` and ``:contains``."""

from __future__ import annotations

import functools
import unicodedata

from fhir_server.errors import BadRequest

MODIFIERS = frozenset({"exact", "contains"})
# The string parts of the complex types string parameters point at (HumanName, Address, ...).
_PARTS = ("text", "family", "given", "prefix", "suffix", "line", "city", "district", "state", "postalCode",
          "country", "value")


@functools.lru_cache(maxsize=65_536)
def normalize(text: str) -> str:
    """Lower case without accents; Hangul and other scripts are kept whole (NFC after dropping marks).

    Cached: indexing repeats the same displays (a code's display, a unit) across millions of resources."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(character for character in decomposed if not unicodedata.combining(character))
    return unicodedata.normalize("NFC", stripped).casefold()


def strings_of(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        found = []
        for part in _PARTS:
            child = value.get(part)
            for item in child if isinstance(child, list) else (child,):
                if isinstance(item, str):
                    found.append(item)
        return found
    return []


def index(item) -> list[dict]:
    return [{"value": normalize(text)[:512], "exact": text[:512]} for text in strings_of(item[0])]


def parse(raw: str, modifier: str | None, code: str) -> str:
    if modifier not in (None, *MODIFIERS):
        raise BadRequest(f"Modifier `:{modifier}` is not supported for string parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    return raw
