"""The privacy policy a node applies to a cohort's counts before anything leaves it.

- Small cells: a count below ``k`` (zero included) is suppressed and shown as ``<k``.
- Secondary suppression: in a breakdown, the smallest published cells are suppressed too until the
  suppressed cells are at least two and together hold none or at least ``k`` patients, so the total minus
  the published cells never recovers a small count. Categories the data names (diagnoses, years) that
  fall below ``k`` are pooled into ``other`` and their names are not shown.
- Noise: each published count gets Laplace noise of scale 1/epsilon, drawn from a keyed hash (HMAC-SHA256
  with the node's secret key) of the cohort's members and the cell. The same question asked again, or
  phrased differently for the same patients, gets the same answer, so averaging repeats learns nothing.
- The budget (per requester, a ledger in the database) and the differencing guard are checked by
  ``cohorts/service.py`` with the counts this module protects.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass


SECONDARY = "suppressed"  # what a cell hidden to protect another shows: it holds at least k, so not "<k"


@dataclass(frozen=True)
class Cell:
    label: str
    exact: int
    released: int | None  # None: suppressed
    why: str | None = None  # why it was suppressed: "small" or "secondary"


@dataclass(frozen=True)
class Noise:
    """Deterministic Laplace noise for one cohort: the same members and cell always get the same draw."""

    key: bytes
    members_digest: str
    epsilon: float

    def draw(self, cell: str) -> int:
        digest = hmac.new(self.key, f"{self.members_digest}|{cell}".encode(), hashlib.sha256).digest()
        uniform = (int.from_bytes(digest[:8], "big") + 0.5) / 2 ** 64 - 0.5  # in (-0.5, 0.5)
        scale = 1 / self.epsilon
        return round(-scale * math.copysign(1, uniform) * math.log(1 - 2 * abs(uniform)))


def release(exact: int, k: int, noise: Noise, cell: str) -> int:
    """A count of at least ``k`` with its noise; never below ``k``, so it never looks suppressed."""
    return max(k, exact + noise.draw(cell))


def protect_total(exact: int, k: int, noise: Noise) -> Cell:
    if exact < k:
        return Cell("total", exact, None, "small")
    return Cell("total", exact, release(exact, k, noise, "total"))


def protect_breakdown(name: str, counts: dict[str, int], k: int, noise: Noise, *, fixed: tuple[str, ...] = (),
                      total_suppressed: bool = False) -> list[Cell]:
    """The cells of one breakdown, protected. ``fixed`` categories are always listed (zero or not); any other
    category below ``k`` is pooled into ``other``."""
    cells = {label: counts.get(label, 0) for label in fixed}
    pooled = 0
    for label, count in counts.items():
        if label in cells:
            continue
        if fixed or count < k:
            pooled += count
        else:
            cells[label] = count
    if pooled or (not fixed and not cells):
        cells["other"] = cells.get("other", 0) + pooled
    suppressed = {label: "small" for label, count in cells.items() if count < k or total_suppressed}
    for label in secondary(cells, set(suppressed), k):
        suppressed[label] = "secondary"
    return [Cell(label, count, None, suppressed[label]) if label in suppressed
            else Cell(label, count, release(count, k, noise, f"{name}={label}")) for label, count in cells.items()]


def protect_table(name: str, counts: dict[tuple[str, str], int], rows: tuple[str, ...], columns: tuple[str, ...],
                  k: int, noise: Noise, *, total_suppressed: bool = False) -> list[Cell]:
    """The cells of a two-way breakdown (labelled ``row|column``), protected line by line: each row, each
    column and the whole table get the secondary suppression of :func:`secondary`, until none needs more,
    because a row's or column's total is published too (as a one-way breakdown) and minus that line's
    published cells would recover one small cell. Rows outside ``rows`` are pooled into ``other``."""
    pooled_rows = rows + (("other",) if any(row not in rows for row, _ in counts) else ())
    cells = {(row, column): 0 for row in pooled_rows for column in columns}
    for (row, column), count in counts.items():
        cells[(row if row in rows else "other", column)] += count
    suppressed = {cell: "small" for cell, count in cells.items() if count < k or total_suppressed}
    lines = [[(row, column) for column in columns] for row in pooled_rows] + \
            [[(row, column) for row in pooled_rows] for column in columns] + [list(cells)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            for cell in secondary({cell: cells[cell] for cell in line}, {cell for cell in line if cell in suppressed}, k):
                suppressed[cell], changed = "secondary", True
    return [Cell(f"{row}|{column}", count, None, suppressed[(row, column)]) if (row, column) in suppressed
            else Cell(f"{row}|{column}", count, release(count, k, noise, f"{name}={row}|{column}"))
            for (row, column), count in cells.items()]


def secondary(cells: dict, suppressed: set, k: int) -> list:
    """The published cells to suppress as well, smallest first (ties by label), so that the suppressed cells
    are none, or at least two that together hold no patient or at least ``k``."""
    added = []
    published = sorted((count, label) for label, count in cells.items() if label not in suppressed)
    hidden = set(suppressed)

    def exposed() -> bool:
        together = sum(cells[label] for label in hidden)
        return bool(hidden) and (len(hidden) < 2 or 0 < together < k)

    while exposed() and published:
        _, label = published.pop(0)
        hidden.add(label)
        added.append(label)
    return added


def threshold(exact: int, k: int) -> str:
    """The only answer under the threshold rule: whether the cohort reaches ``k``."""
    return f">={k}" if exact >= k else f"<{k}"
