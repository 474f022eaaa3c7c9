"""Index rows of a resource, for every search parameter of its type, extracted on write.

Each parameter's expression is compiled once (``fhirpath.py``); its type's module turns the
extracted values into rows of that type's table. A reference's identifier is also indexed as a
token under ``<code>:identifier`` for the ``:identifier`` modifier.

A parameter whose expression is the union of others' (``parameters.unions``: Observation's ``combo-*``)
stores no rows: searches read its parts' rows. They were nearly a quarter of a clinical population's rows,
and storing them a fifth of a bulk load's time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_server.definitions import r4
from fhir_server.search.fhirpath import Item, Unsupported, compile_expression, compile_on_element
from fhir_server.search.parameters import Registry, SearchParameter, unions
from fhir_server.search.types import composite, date, number, quantity, reference, string, token, uri

TYPES = {"string": string, "token": token, "date": date, "number": number, "quantity": quantity,
         "reference": reference, "uri": uri, "composite": composite}
TABLES = {"string": "search_string", "token": "search_token", "date": "search_date", "number": "search_number",
          "quantity": "search_quantity", "reference": "search_reference", "uri": "search_uri",
          "composite": "search_composite"}
# Answered from the resources table's own columns (id, last_updated), not from index rows: a `_lastUpdated` row
# for every resource was a tenth of the index, and repeated what the table holds. Each with the kind of its criteria.
RESOURCE_COLUMNS = {"_id": "id", "_lastUpdated": "lastUpdated"}


class SearchIndex:
    """Each type's parameters are compiled when the type is first indexed or searched: compiling all 128 types'
    took a third of a second, paid by every process that starts and by each validation worker of a bulk load,
    which sees a handful of types."""

    def __init__(self, registry: Registry, resource_types: tuple[str, ...]):
        self._registry = registry
        self._resource_types = frozenset(resource_types)
        self._types: dict[str, _TypeIndex] = {}

    def _of(self, resource_type: str) -> _TypeIndex:
        compiled = self._types.get(resource_type)
        if compiled is None:
            if resource_type not in self._resource_types:
                return _NO_PARAMETERS  # not remembered: any text a client sends could be asked about
            # Threads that race here compile the same thing, and either result is right.
            compiled = self._types[resource_type] = _TypeIndex.compile(self._registry, resource_type)
        return compiled

    def supports(self, resource_type: str, code: str) -> bool:
        return code in self._of(resource_type).supported or code in RESOURCE_COLUMNS

    def stored_codes(self, resource_type: str, code: str) -> tuple[str, ...]:
        """The ``param`` of the index rows that hold a parameter's values: its own code, or for a union parameter
        (``parameters.unions``) its parts' codes, with the derived ``:identifier`` or ``:of-type`` kept."""
        base, colon, derived = code.partition(":")
        parts = self._of(resource_type).unions.get(base)
        return tuple(f"{part}{colon}{derived}" for part in parts) if parts else (code,)

    def with_unions(self, resource_type: str, rows: dict[str, list[dict]]) -> dict[str, list[dict]]:
        """``rows`` with those of the union parameters added, copied from their parts' rows: the whole index of a
        resource, for a search engine that keeps one document per resource."""
        unions_of = self._of(resource_type).unions_of
        if not unions_of:
            return rows
        whole = {}
        for table, table_rows in rows.items():
            added = [{**row, "param": f"{union}{colon}{derived}"} for row in table_rows
                     for base, colon, derived in (row["param"].partition(":"),)
                     for union in unions_of.get(base, ())]
            whole[table] = table_rows + added
        return whole

    def fields(self, resource_type: str) -> list[tuple[str, str, str]]:
        """(code, parameter type, index table) of every indexed code of the type, the derived
        ``<reference>:identifier`` and ``<token>:of-type`` ones included."""
        return self._of(resource_type).fields

    def rows(self, resource_type: str, id_: str, resource: dict) -> dict[str, list[dict]]:
        """Rows per index table for the current version of a resource, as stored: a union parameter has none of its
        own (:meth:`with_unions` adds them)."""
        tables: dict[str, list[dict]] = {}
        for code, kind, extract in self._of(resource_type).extractors_for(resource):
            seen = set()
            for item in extract(resource):
                for row in TYPES[kind].index(item):
                    self._add(tables, TABLES[kind], seen, resource_type, id_, code, row)
                if kind == "reference":
                    for system, value in reference.identifier_of(item):
                        self._add(tables, "search_token", seen, resource_type, id_, f"{code}:identifier",
                                  {"system": system, "code": value, "text": None})
                elif kind == "token":
                    for row in token.of_type(item):
                        self._add(tables, "search_composite", seen, resource_type, id_, f"{code}:of-type", row)
        return tables

    def rows_before_write(self, resource: dict) -> dict[str, list[dict]]:
        """The rows of a valid resource about to be written, extracted from the resource as given: what the server
        sets when it stores it (id, meta.versionId, meta.lastUpdated) is read by no R4 parameter but ``_id`` and
        ``_lastUpdated``, answered from the resources table. A resource without an id is created: the write gives
        its rows the id."""
        return self.rows(resource["resourceType"], resource.get("id", ""), resource)

    @staticmethod
    def _add(tables, table, seen, resource_type, id_, code, row) -> None:
        key = (table, code, *row.values())
        if key not in seen:
            seen.add(key)
            tables.setdefault(table, []).append({"resource_type": resource_type, "resource_id": id_,
                                                 "param": code, **row})


@dataclass(frozen=True)
class _TypeIndex:
    indexed: list[tuple[str, str]]  # (code, type) of every searchable parameter
    extractors: list[tuple[str, str, object]]  # (code, type, extractor) of the parameters whose rows are stored
    unions: dict[str, tuple[str, ...]]  # searched through their parts' rows
    unions_of: dict[str, list[str]]  # the unions each part's rows serve
    supported: frozenset[str]
    fields: list[tuple[str, str, str]]  # see SearchIndex.fields
    # The extractors that can find something in a resource with these top-level keys. Testing every extractor's roots
    # against every resource was a third of an Observation's extraction (41 parameters; 91 -> 60 µs a resource over
    # the synthetic population), and a type's resources come in a few shapes.
    _by_keys: dict[tuple[str, ...], list] = field(default_factory=dict, compare=False)

    def extractors_for(self, resource: dict) -> list[tuple[str, str, object]]:
        """(code, type, extractor) of each parameter whose rows are stored and whose roots ``resource`` has."""
        if not self.extractors:
            return self.extractors
        keys = tuple(resource)
        found = self._by_keys.get(keys)
        if found is None:
            present = resource.keys()
            found = [extractor for extractor in self.extractors
                     if extractor[2].roots is None or not present.isdisjoint(extractor[2].roots)]
            if len(self._by_keys) < _KEY_SHAPES:  # bounded, whatever shapes a client sends
                self._by_keys[keys] = found
        return found

    @classmethod
    def compile(cls, registry: Registry, resource_type: str) -> _TypeIndex:
        parameters = registry.for_type(resource_type)
        compiled = []
        for parameter in parameters:
            if parameter.type in TYPES and parameter.expression and parameter.code not in RESOURCE_COLUMNS:
                try:
                    compiled.append((parameter.code, parameter.type, _extractor(parameter, resource_type)))
                except Unsupported:
                    continue  # not offered: searching it is an unknown parameter, never a silent miss
        codes = {code for code, _, _ in compiled}
        found = {code: parts for code, parts in unions(parameters, resource_type).items()
                 if code in codes and codes.issuperset(parts)}
        unions_of: dict[str, list[str]] = {}
        for union, parts in found.items():
            for part in parts:
                unions_of.setdefault(part, []).append(union)
        fields = []
        for code, kind, _ in compiled:
            fields.append((code, kind, TABLES[kind]))
            if kind == "reference":
                fields.append((f"{code}:identifier", "token", TABLES["token"]))
            elif kind == "token":
                fields.append((f"{code}:of-type", "composite", TABLES["composite"]))
        return cls([(code, kind) for code, kind, _ in compiled],
                   [extractor for extractor in compiled if extractor[0] not in found], found, unions_of, frozenset(codes),
                   fields)


_NO_PARAMETERS = _TypeIndex([], [], {}, {}, frozenset(), [])  # of a type the server does not store
_KEY_SHAPES = 1024  # remembered per type


def _extractor(parameter: SearchParameter, resource_type: str):
    if parameter.type != "composite":
        return compile_expression(parameter.expression, resource_type)
    return _Composite(parameter, resource_type)


class _Composite:
    """A composite parameter's extractor: the elements its expression selects, each as one item that
    holds (type, index rows) per component, for ``types/composite.index``."""

    def __init__(self, parameter: SearchParameter, resource_type: str):
        if not parameter.components or len(parameter.components) > composite.SLOTS or any(
                component.type not in composite.COLUMNS for component in parameter.components):
            raise Unsupported(parameter.code)
        self._terms = []
        roots: set[str] | None = set()
        for term in (term.strip() for term in parameter.expression.split("|")):
            if term != resource_type and not term.startswith(resource_type + "."):
                continue  # another resource type's part of a shared parameter
            path = r4()["compositeItemTypes"].get(term, term)
            elements = compile_expression(term, resource_type)
            components = [(component.type, compile_on_element(component.expression, path))
                          for component in parameter.components]
            self._terms.append((elements, components))
            term_roots = elements.roots
            if term == resource_type:  # the resource itself is the element: a row needs each component's keys
                term_roots = next((extract.roots for _, extract in reversed(components) if extract.roots is not None),
                                  None)
            roots = None if roots is None or term_roots is None else roots | term_roots
        # Observation's code-value-* over one that has another value[x], or none, were a tenth of its extraction.
        self.roots = frozenset(roots) if roots is not None else None

    def __call__(self, resource: dict) -> list[Item]:
        items = []
        for elements, components in self._terms:
            for element in elements(resource):
                values = []
                # Last first: the value is the component an element most often lacks (an Observation's
                # code-value-date without a date), and an element lacking any component has no row.
                for kind, extract in reversed(components):
                    rows = [row for value in extract.on(element) for row in TYPES[kind].index(value)]
                    if not rows:
                        break
                    values.append((kind, rows))
                else:
                    items.append((values[::-1], None))
        return items
