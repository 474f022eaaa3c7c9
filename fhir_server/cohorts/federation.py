"""One cohort question answered by several hospitals: the coordinator (any node, or `fhir-server federate`)
sends it to each peer's `Group/$cohort-count` with that peer's own credentials, in parallel; each peer
applies its own privacy policy before answering. The coordinator combines only what the peers released,
suppresses again, and reports each hospital's status: answered, refused (by its policy), unreachable,
timed-out or failed; one hospital's trouble never fails the whole question.

Combining: a released count ``n`` stands for exactly ``n``; ``<k`` (suppressed, or a category a hospital
pooled into `other`) for anything from 0 to k-1; ``>=k`` (the threshold rule) for at least k. Sums of these
are ranges: an exact sum below the coordinator's k becomes ``<k``, a range is shown as ``low-high`` (or
``>=low``), and each breakdown is suppressed again as ``privacy.secondary`` requires, its hidden cells
counted at their lowest. A cell a hospital hid by secondary suppression (``suppressed``) holds at least its k.
"""

from __future__ import annotations

import json
import math
import socket
import ssl
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate

from fhir_server.cohorts import privacy
from fhir_server.cohorts.privacy import SECONDARY
from fhir_server.cohorts.parameters import from_parameters
from fhir_server.errors import BadRequest

ANSWERED, REFUSED, UNREACHABLE, TIMED_OUT, FAILED = "answered", "refused", "unreachable", "timed-out", "failed"


@dataclass(frozen=True)
class Peer:
    name: str
    url: str  # the peer's FHIR base
    token_file: str | None  # a file holding the bearer token this coordinator presents to the peer
    ca_file: str | None  # CA certificates to verify the peer's TLS certificate with


class _PeerSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    url = fields.Url(required=True, schemes={"http", "https"}, require_tld=False)
    tokenFile = fields.String()
    caFile = fields.String()


class _PeersSchema(Schema):
    peers = fields.List(fields.Nested(_PeerSchema), required=True, validate=validate.Length(min=1, max=100))


def peers(path: str) -> list[Peer]:
    """The peers file (JSON: ``{"peers": [{"name", "url", "tokenFile", "caFile"}]}``); ValueError says what is wrong."""
    if not path:
        raise ValueError("no peers are configured (FHIR_SERVER_FEDERATION_PEERS names none)")
    try:
        data = _PeersSchema().load(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as error:
        messages = error.messages if isinstance(error, ValidationError) else str(error)
        raise ValueError(f"the peers file {path} cannot be used: {messages}") from None
    return [Peer(peer["name"], peer["url"].rstrip("/"), peer.get("tokenFile"), peer.get("caFile"))
            for peer in data["peers"]]


def ask(settings, source: dict, breakdowns: list[str], age_at: str | None, local: dict | None = None) -> dict:
    """The combined answer: ``total``, ``breakdowns``, ``k`` and ``hospitals`` (name, status, message, total).
    ``local`` is the coordinating node's own status entry, when it answers too."""
    try:
        known = peers(settings.federation_peers)
    except ValueError as error:
        raise BadRequest(f"Federation is not possible: {error}.") from None
    body = json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "definition", "valueString": json.dumps(source)},
        *({"name": "breakdown", "valueCode": name} for name in breakdowns),
        *([{"name": "ageAt", "valueString": age_at}] if age_at else [])]}).encode()
    with ThreadPoolExecutor(max_workers=min(len(known), 16)) as pool:
        statuses = list(pool.map(lambda peer: _ask_peer(peer, body, settings.federation_timeout_seconds), known))
    if local is not None:
        statuses.insert(0, local)
    answered = [status["answer"] for status in statuses if status["status"] == ANSWERED]
    combined = combine(answered, breakdowns, settings.cohort_k)
    combined["hospitals"] = [{key: value for key, value in status.items() if key != "answer"}
                             | ({"total": status["answer"]["total"]} if status["status"] == ANSWERED else {})
                             for status in statuses]
    if "hospital" in breakdowns:
        combined["breakdowns"]["hospital"] = {status["hospital"]: status["answer"]["total"]
                                              for status in statuses if status["status"] == ANSWERED}
    return combined


def _ask_peer(peer: Peer, body: bytes, timeout: float) -> dict:
    headers = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}
    try:
        if peer.token_file:
            headers["Authorization"] = "Bearer " + Path(peer.token_file).read_text(encoding="utf-8").strip()
        context = ssl.create_default_context(cafile=peer.ca_file) if peer.url.startswith("https") else None
        request = urllib.request.Request(peer.url + "/Group/$cohort-count", data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            answer = from_parameters(json.loads(response.read()))
        return {"hospital": peer.name, "status": ANSWERED, "answer": answer}
    except urllib.error.HTTPError as error:
        issue = _issue(error)
        status = REFUSED if error.code == 403 and issue.get("code") == "business-rule" else FAILED
        return {"hospital": peer.name, "status": status,
                "message": f"HTTP {error.code}: {issue.get('diagnostics', error.reason)}"}
    except (TimeoutError, socket.timeout):
        return {"hospital": peer.name, "status": TIMED_OUT, "message": f"no answer within {timeout:g} s"}
    except urllib.error.URLError as error:
        if isinstance(error.reason, (TimeoutError, socket.timeout)):
            return {"hospital": peer.name, "status": TIMED_OUT, "message": f"no answer within {timeout:g} s"}
        return {"hospital": peer.name, "status": UNREACHABLE, "message": str(error.reason)}
    except (OSError, ValueError, BadRequest) as error:
        return {"hospital": peer.name, "status": FAILED, "message": getattr(error, "message", str(error))}


def _issue(error: urllib.error.HTTPError) -> dict:
    try:
        return json.loads(error.read())["issue"][0]
    except (ValueError, KeyError, IndexError, TypeError, OSError):
        return {}


def combine(answers: list[dict], breakdowns: list[str], k: int) -> dict:
    """The answers' sum, suppressed again with minimum cell size ``k``."""
    if not answers:
        return {"total": None, "k": k, "breakdowns": {}}
    total = _sum([_bounds(answer["total"], answer["k"]) for answer in answers])
    combined = {"total": _shown(total, k), "k": k, "breakdowns": {}}
    for name in breakdowns:
        if name == "hospital" or any(name not in answer["breakdowns"] for answer in answers):
            continue
        labels = sorted({label for answer in answers for label in answer["breakdowns"][name]})
        cells = {label: _sum([_bounds(answer["breakdowns"][name].get(label, f"<{answer['k']}"), answer["k"])
                              for answer in answers]) for label in labels}
        shown = {label: _shown(bounds, k) for label, bounds in cells.items()}
        hidden = {label for label, value in shown.items() if not isinstance(value, int)}
        for label in privacy.secondary({label: low for label, (low, _) in cells.items()}, hidden, k):
            shown[label] = SECONDARY
        combined["breakdowns"][name] = shown
    return combined


def _bounds(value, k: int) -> tuple[int, float]:
    """The [low, high] a released value stands for."""
    if isinstance(value, int):
        return value, value
    if value == SECONDARY:  # hidden to protect a small cell: it holds at least k
        return k, math.inf
    if value.startswith(">="):
        return int(value[2:]), math.inf
    return 0, int(value.lstrip("<")) - 1


def _sum(bounds: list[tuple[int, float]]) -> tuple[int, float]:
    return sum(low for low, _ in bounds), sum(high for _, high in bounds)


def _shown(bounds: tuple[int, float], k: int):
    low, high = bounds
    if high < k:
        return f"<{k}"
    if low == high:
        return low
    return f">={low}" if high == math.inf else f"{low}-{int(high)}"
