"""Elasticsearch index mappings and documents, generated from the search-parameter registry.

One index per resource type. A document holds what searching needs, never the resource itself:
responses are built from the bytes stored in the database.

- ``p.<code>``: one nested object per extracted value of the parameter, with the columns of the
  parameter type's SQL index table (token ``system`` and ``code`` side by side, date ``low`` and
  ``high`` bounds, quantity ``value``, ``system``, ``code`` and ``unit``, reference ``target_type``,
  ``target_id`` and ``url``, string ``value`` normalized for prefix search and ``exact``); nested,
  so that one value's columns are matched together.
- ``sort.<code>.asc`` / ``.desc``: the value `_sort` orders by, a resource's lowest ascending and
  highest descending (https://hl7.org/fhir/R4/search.html#_sort), computed here once rather than by
  a nested sort on every search.
- ``narrative`` and ``content``: analysed text for `_text` and `_content`.
"""

from __future__ import annotations

import re

from sqlalchemy import BigInteger, Float

from fhir_server.search.index import TABLES
from fhir_server.search.results import SORT_COLUMNS
from fhir_server.storage.tables import INDEX_TABLES

_KEYS = frozenset({"resource_type", "resource_id", "param"})
_KEYWORD, _LONG, _DOUBLE = {"type": "keyword"}, {"type": "long"}, {"type": "double"}
_TAGS = re.compile(r"<[^>]*>")
_SKIPPED = frozenset({"data"})  # base64 attachments
# An R4 type has up to about 110 parameters with the derived `:identifier` and `:of-type` ones.
SETTINGS = {"index.mapping.nested_fields.limit": 1000, "index.mapping.total_fields.limit": 10_000}


def _column_type(column) -> dict:
    if isinstance(column.type, BigInteger):
        return _LONG
    if isinstance(column.type, Float):
        return _DOUBLE
    return _KEYWORD


COLUMNS = {table: {column.name: _column_type(column) for column in INDEX_TABLES[table].columns
                   if column.name not in _KEYS} for table in INDEX_TABLES}
SORT_TYPES = {kind: COLUMNS[TABLES[kind]][ascending] for kind, (ascending, _) in SORT_COLUMNS.items()}


def mappings(fields: list[tuple[str, str, str]]) -> dict:
    """The mapping of one type's index from its indexed fields: (code, parameter type, index table)."""
    return {"dynamic": "strict", "properties": {
        "id": _KEYWORD, "last_updated": _LONG,
        "p": {"properties": {code: {"type": "nested", "properties": COLUMNS[table]} for code, _, table in fields}},
        "sort": {"properties": {code: {"properties": {"asc": SORT_TYPES[kind], "desc": SORT_TYPES[kind]}}
                                for code, kind in sortable(fields).items()}},
        "narrative": {"type": "text"}, "content": {"type": "text"}}}


def sortable(fields: list[tuple[str, str, str]]) -> dict[str, str]:
    """Parameter type of each code `_sort` can use (not the derived ``:identifier`` and ``:of-type`` ones)."""
    return {code: kind for code, kind, _ in fields if kind in SORT_COLUMNS and ":" not in code}


def document(id_: str, last_updated: int, resource: dict, rows: dict[str, list[dict]],
             kinds: dict[str, str]) -> dict:
    """The document of a resource's current version from its index rows (``SearchIndex.rows``);
    ``kinds`` maps each sortable code to its parameter type."""
    values: dict[str, list[dict]] = {}
    sort: dict[str, dict] = {}
    for table_rows in rows.values():
        for row in table_rows:
            code = row["param"]
            values.setdefault(code, []).append({key: value for key, value in row.items()
                                                if key not in _KEYS and value is not None})
            kind = kinds.get(code)
            if kind is not None:
                _add_sort_value(sort, code, kind, row)
    document_ = {"id": id_, "last_updated": last_updated, "p": values, "sort": sort,
                 "content": " ".join(_strings(resource))}
    narrative = (resource.get("text") or {}).get("div") if isinstance(resource.get("text"), dict) else None
    if isinstance(narrative, str):
        document_["narrative"] = _TAGS.sub(" ", narrative)
    return document_


def _add_sort_value(sort: dict, code: str, kind: str, row: dict) -> None:
    ascending_column, descending_column = SORT_COLUMNS[kind]
    low, high = row.get(ascending_column), row.get(descending_column)
    if low is None or high is None:
        return
    bounds = sort.setdefault(code, {"asc": low, "desc": high})
    bounds["asc"], bounds["desc"] = min(bounds["asc"], low), max(bounds["desc"], high)


def _strings(value, key: str = "") -> list[str]:
    """Every string in a resource, the narrative's text without its markup: what `_content` searches."""
    if isinstance(value, str):
        return [_TAGS.sub(" ", value)] if key == "div" else [value]
    if isinstance(value, dict):
        return [text for child_key, child in value.items() if child_key not in _SKIPPED
                for text in _strings(child, child_key)]
    if isinstance(value, list):
        return [text for child in value for text in _strings(child, key)]
    return []
