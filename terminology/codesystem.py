"""A code system's concepts and hierarchy, with the ancestor closure that subsumption tests use.

https://hl7.org/fhir/R4/codesystem.html
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    display: str
    kind: str | None = None  # e.g. ICD-10 chapter/block/category/subcategory, an Orphanet disorder type
    designations: tuple[tuple[str, str], ...] = ()  # (language, text), e.g. ("ko", "유방의 악성 신생물")
    active: bool = True  # SNOMED CT and LOINC keep retired concepts, marked inactive


@dataclass(eq=False)
class CodeSystem:
    """Concepts by code; ``parents`` maps a code to its direct parents (a DAG: Orphanet has several)."""

    url: str
    version: str
    name: str
    title: str
    concepts: dict[str, Concept]
    parents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    publisher: str = ""
    copyright: str = ""

    @cached_property
    def children(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for child, parents in self.parents.items():
            for parent in parents:
                found.setdefault(parent, []).append(child)
        return {parent: tuple(sorted(children)) for parent, children in found.items()}

    @cached_property
    def _ancestors(self) -> dict[str, frozenset[str]]:
        closed: dict[str, frozenset[str]] = {}

        def of(code: str, path: tuple[str, ...]) -> frozenset[str]:
            if code not in closed:
                if code in path:  # a cycle in supplied data must not hang us: cut it
                    return frozenset()
                found: set[str] = set()
                for parent in self.parents.get(code, ()):
                    found.add(parent)
                    found |= of(parent, path + (code,))
                closed[code] = frozenset(found)
            return closed[code]

        for code in self.concepts:
            of(code, ())
        return closed

    def __contains__(self, code: str) -> bool:
        return code in self.concepts

    def get(self, code: str) -> Concept | None:
        return self.concepts.get(code)

    def ancestors(self, code: str) -> frozenset[str]:
        """Every concept above ``code`` (not ``code`` itself)."""
        return self._ancestors.get(code, frozenset())

    def descendants(self, code: str) -> list[str]:
        """Every concept below ``code`` (not ``code`` itself), sorted."""
        found, stack = set(), list(self.children.get(code, ()))
        while stack:
            child = stack.pop()
            if child not in found:
                found.add(child)
                stack.extend(self.children.get(child, ()))
        return sorted(found)

    def subsumes(self, code_a: str, code_b: str) -> str:
        """The $subsumes outcome of A against B: equivalent, subsumes, subsumed-by or not-subsumed."""
        if code_a == code_b:
            return "equivalent"
        if code_a in self.ancestors(code_b):
            return "subsumes"
        if code_b in self.ancestors(code_a):
            return "subsumed-by"
        return "not-subsumed"

    def closure(self) -> Iterator[tuple[str, str]]:
        """(ancestor, descendant) for every pair, each concept also its own ancestor: the closure table."""
        for code in self.concepts:
            yield code, code
            for ancestor in self.ancestors(code):
                yield ancestor, code
