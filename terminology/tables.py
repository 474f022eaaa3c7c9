"""The compact tab-separated tables terminology ships and writes: UTF-8, one row per line, no quoting rules
beyond the csv module's."""

from __future__ import annotations

import csv
from pathlib import Path


def write(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, delimiter="\t", lineterminator="\n").writerows(rows)


def read(path) -> list[list[str]]:
    """``path`` may be a Path or an importlib.resources Traversable."""
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream, delimiter="\t"))
