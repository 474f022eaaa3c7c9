"""The cohort_queries table: the data steward's log of every cohort query, and each requester's ledger.

Members are kept as 8-byte hashes of their ids, enough to measure how far two cohorts differ (the
differencing guard) without keeping a list of patients per query.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib

from sqlalchemy import Connection, func, insert, select

from fhir_server.storage.tables import cohort_queries


def members_digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def member_hashes(ids: list[str]) -> frozenset[int]:
    return frozenset(int.from_bytes(hashlib.blake2b(id_.encode(), digest_size=8).digest(), "big") for id_ in ids)


def record(connection: Connection, *, requester: str, definition: str, question: str, outcome: str, rule: str,
           exact: dict, released: dict, epsilon: float, digest: str, members: frozenset[int]) -> None:
    packed = zlib.compress(b"".join(value.to_bytes(8, "big") for value in sorted(members)))
    connection.execute(insert(cohort_queries).values(
        requester=requester, at=time.time_ns() // 1_000_000, definition=definition, breakdowns=question,
        outcome=outcome, rule=rule, exact=json.dumps(exact), released=json.dumps(released), epsilon=epsilon,
        members_digest=digest, member_count=len(members), members=packed))


def asked_before(connection: Connection, requester: str, digest: str, question: str) -> bool:
    """Whether the requester was answered this question about these members already."""
    return connection.execute(select(cohort_queries.c.seq).where(
        cohort_queries.c.requester == requester, cohort_queries.c.outcome == "answered",
        cohort_queries.c.members_digest == digest, cohort_queries.c.breakdowns == question).limit(1)).first() is not None


def close_cohorts(connection: Connection, requester: str, digest: str, count: int, k: int) -> list[frozenset[int]]:
    """The members of the requester's other answered cohorts whose size is within ``k`` of ``count``: only
    those can differ from it by fewer than ``k`` patients, so no other is unpacked."""
    rows = connection.execute(select(cohort_queries.c.members).where(
        cohort_queries.c.requester == requester, cohort_queries.c.outcome == "answered",
        cohort_queries.c.members_digest != digest, cohort_queries.c.member_count > count - k,
        cohort_queries.c.member_count < count + k))
    return [_unpack(packed) for (packed,) in rows]


def spent(connection: Connection, requester: str) -> float:
    return connection.execute(select(func.coalesce(func.sum(cohort_queries.c.epsilon), 0.0))
                              .where(cohort_queries.c.requester == requester)).scalar_one()


def log(connection: Connection, limit: int) -> list[dict]:
    """The newest queries first, everything the steward sees."""
    rows = connection.execute(select(cohort_queries).order_by(cohort_queries.c.seq.desc()).limit(limit)).mappings()
    return [{"seq": row["seq"], "requester": row["requester"], "at": row["at"], "definition": json.loads(row["definition"]),
             "breakdowns": json.loads(row["breakdowns"]), "outcome": row["outcome"], "rule": row["rule"],
             "exact": json.loads(row["exact"]), "released": json.loads(row["released"]), "epsilon": row["epsilon"]}
            for row in rows]


def _unpack(packed: bytes) -> frozenset[int]:
    raw = zlib.decompress(packed)
    return frozenset(int.from_bytes(raw[start:start + 8], "big") for start in range(0, len(raw), 8))
