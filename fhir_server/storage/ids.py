"""Server-assigned resource ids (https://hl7.org/fhir/R4/resource.html#id).

Ids start with the creation time so that new rows land at the end of the primary-key index
instead of all over it, and end with 60 random bits so bulk loads never collide.
"""

import secrets
import time

_ALPHABET = "0123456789abcdefghijklmnopqrstuv"  # base32hex keeps time order in string order


def new_id() -> str:
    value = ((time.time_ns() // 1_000_000) << 60) | secrets.randbits(60)
    digits = []
    for _ in range(22):
        value, digit = divmod(value, 32)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))
