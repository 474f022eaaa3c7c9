"""Index rows of a resource, for every search parameter of its type, extracted on write.

Each parameter's expression is compiled once (``fhirpath.py``); its type's module turns the
extracted values into rows of that type's table. A reference's identifier is also indexed as a
token under ``<code>:identifier`` for the ``:identifier`` modifier.
"""

from __future__ import annotations

from fhir_server.search.fhirpath import compile_expression
from fhir_server.search.parameters import Registry
from fhir_server.search.types import date, number, quantity, reference, string, token, uri

TYPES = {"string": string, "token": token, "date": date, "number": number, "quantity": quantity,
         "reference": reference, "uri": uri}
TABLES = {"string": "search_string", "token": "search_token", "date": "search_date", "number": "search_number",
          "quantity": "search_quantity", "reference": "search_reference", "uri": "search_uri"}
# Answered from the resources table itself, not from an index table.
RESOURCE_COLUMNS = frozenset({"_id"})


class SearchIndex:
    def __init__(self, registry: Registry, resource_types: tuple[str, ...]):
        self._extractors: dict[str, list] = {}
        for resource_type in resource_types:
            compiled = []
            for parameter in registry.for_type(resource_type):
                if parameter.type in TYPES and parameter.expression and parameter.code not in RESOURCE_COLUMNS:
                    compiled.append((parameter.code, parameter.type,
                                     compile_expression(parameter.expression, resource_type)))
            self._extractors[resource_type] = compiled
        self._supported = {resource_type: {code for code, _, _ in compiled}
                           for resource_type, compiled in self._extractors.items()}

    def supports(self, resource_type: str, code: str) -> bool:
        return code in self._supported.get(resource_type, ()) or code in RESOURCE_COLUMNS

    def rows(self, resource_type: str, id_: str, resource: dict) -> dict[str, list[dict]]:
        """Rows per index table for the current version of a resource."""
        tables: dict[str, list[dict]] = {}
        present = resource.keys()
        for code, kind, extract in self._extractors.get(resource_type, ()):
            if extract.roots is not None and present.isdisjoint(extract.roots):
                continue
            seen = set()
            for item in extract(resource):
                for row in TYPES[kind].index(item):
                    self._add(tables, TABLES[kind], seen, resource_type, id_, code, row)
                if kind == "reference":
                    for system, value in reference.identifier_of(item):
                        self._add(tables, "search_token", seen, resource_type, id_, f"{code}:identifier",
                                  {"system": system, "code": value, "text": None})
        return tables

    @staticmethod
    def _add(tables, table, seen, resource_type, id_, code, row) -> None:
        key = (table, code, *row.values())
        if key not in seen:
            seen.add(key)
            tables.setdefault(table, []).append({"resource_type": resource_type, "resource_id": id_,
                                                 "param": code, **row})
