"""The sample-to-patient table: which Patient each VCF sample belongs to. A CSV file with the columns
``sample`` and ``patient``, where ``patient`` is a reference (``Patient/123``) or an identifier
(``system|value``, such as a hospital registration number) the importer looks up on the server."""

from __future__ import annotations

import csv
from pathlib import Path


def read(path: Path) -> dict[str, str]:
    """sample -> the patient as written; raises ValueError for a table without the two columns."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path.name}: cannot be read: {error}") from None
    rows = list(csv.DictReader(text.splitlines(), delimiter="\t" if path.suffix == ".tsv" else ","))
    if not rows or not {"sample", "patient"} <= set(rows[0]):
        raise ValueError(f"{path.name}: a sample-to-patient table needs the columns `sample` and `patient`")
    return {row["sample"].strip(): row["patient"].strip() for row in rows if row["sample"] and row["patient"]}
