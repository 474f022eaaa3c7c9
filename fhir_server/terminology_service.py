"""The loaded terminology as the server uses it: code systems by URL, value set expansions, concept maps.

Loaded on first use (a fraction of a second: the ICD-10 classification is parsed then), once per process
and folder contents, from the shipped tables plus what `fhir-server load-terminology` put into the
terminology folder. The
operations in ``operations/`` and the publishing in ``terminology_publish.py`` go through it.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Callable, Iterable

from terminology import compose, conceptmaps, registry, valuesets
from terminology.codesystem import CodeSystem
from terminology.errors import UnknownSystem, UnknownValueSet
from terminology.normalize import Normalizer

Member = tuple[str, str]  # (system URL, code)


class _Loaded:
    """One loaded terminology and what is computed from it, shared by every service of the process that
    reads the same folder contents (tests build many apps; each would otherwise hold its own copy)."""

    def __init__(self, terminology: registry.Terminology):
        self.terminology = terminology
        self.cohorts: dict[str, list[Member]] = {}
        self.cohort_sets: dict[str, frozenset[Member]] = {}
        self.normalizer: Normalizer | None = None
        self.translator: conceptmaps.Translator | None = None


_LOADED: dict[tuple, _Loaded] = {}
_LOCK = threading.Lock()


def _signature(folder: Path | None) -> tuple:
    """The folder and the name, size and time of each file in it: a reload follows `load-terminology`."""
    if folder is None or not folder.is_dir():
        return (None,)
    return (str(folder.resolve()), *sorted((str(path.relative_to(folder)), path.stat().st_size, path.stat().st_mtime_ns)
                                           for path in folder.rglob("*") if path.is_file()))


class TerminologyService:
    def __init__(self, folder: Path | None):
        self.folder = folder
        self._state: _Loaded | None = None

    @property
    def _loaded(self) -> _Loaded:
        if self._state is None:
            key = _signature(self.folder)
            with _LOCK:
                if key not in _LOADED:
                    _LOADED[key] = _Loaded(registry.load(Path(key[0]) if key[0] else None))
                    _keep_out_of_garbage_collection()
                self._state = _LOADED[key]
        return self._state

    @property
    def terminology(self) -> registry.Terminology:
        return self._loaded.terminology

    def system(self, url: str, version: str | None = None) -> CodeSystem:
        code_system = self.terminology.system(url)
        if version and version != code_system.version:
            raise UnknownSystem(f"Version `{version}` of `{url}` is not loaded; this server has `{code_system.version}`.")
        return code_system

    @property
    def normalizer(self) -> Normalizer:
        loaded = self._loaded
        if loaded.normalizer is None:
            loaded.normalizer = Normalizer(loaded.terminology)
        return loaded.normalizer

    @property
    def translator(self) -> conceptmaps.Translator:
        loaded = self._loaded
        if loaded.translator is None:
            loaded.translator = conceptmaps.Translator(loaded.terminology)
        return loaded.translator

    def cohort_members(self, url: str) -> list[Member] | None:
        """The sorted expansion of a cohort value set, or None if ``url`` is not one."""
        definition = valuesets.by_url(url)
        if definition is None:
            return None
        cohorts = self._loaded.cohorts
        if definition.url not in cohorts:
            cohorts[definition.url] = sorted(definition.members(self.terminology))
            _keep_out_of_garbage_collection()
        return cohorts[definition.url]

    def expand(self, value_set: dict, stored: Callable[[str], dict | None]) -> list[Member]:
        """The members of a ValueSet resource: a cohort value set by its URL, any other by its compose.

        ``stored(url)`` finds a ValueSet stored on this server, for composes that name other value sets."""
        found = self.cohort_members(value_set.get("url", "")) if value_set.get("url") else None
        if found is not None:
            return found
        if not isinstance(value_set.get("compose"), dict):
            raise UnknownValueSet(f"The value set `{value_set.get('url') or value_set.get('id')}` has no compose "
                                  "to expand and is not one of this server's cohort value sets.")
        return compose.evaluate(value_set["compose"], self.system, lambda url: self._by_url(url, stored, ()))

    def membership(self, value_set: dict, stored: Callable[[str], dict | None]) -> frozenset[Member]:
        """The members of ``value_set`` as a set (kept for the cohort value sets)."""
        url, kept = value_set.get("url") or "", self._loaded.cohort_sets
        if url in kept:
            return kept[url]
        members = frozenset(self.expand(value_set, stored))
        if self.cohort_members(url) is not None:
            kept[url] = members
        return members

    def _by_url(self, url: str, stored: Callable[[str], dict | None], seen: tuple[str, ...]) -> Iterable[Member]:
        if url in seen:
            raise UnknownValueSet(f"The value set `{url}` includes itself.")
        found = self.cohort_members(url)
        if found is not None:
            return found
        resource = stored(url)
        if resource is None or not isinstance(resource.get("compose"), dict):
            raise UnknownValueSet(f"The value set `{url}` is not stored here, or has no compose to expand.")
        return compose.evaluate(resource["compose"], self.system,
                                lambda inner: self._by_url(inner, stored, (*seen, url)))

    def display(self, member: Member) -> str | None:
        code_system = self.terminology.systems.get(member[0])
        concept = code_system.get(member[1]) if code_system is not None else None
        return concept.display if concept is not None else None


def _keep_out_of_garbage_collection() -> None:
    """Move what is loaded out of the collector's reach: it lives as long as the process, and each full
    collection walked its million objects, which cost one request in a hundred 160 ms."""
    gc.collect()
    gc.freeze()
