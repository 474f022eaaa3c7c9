"""What terminology refuses, by kind; the server turns each kind into an OperationOutcome with its status."""

from __future__ import annotations


class TerminologyError(ValueError):
    """A terminology request that cannot be answered as asked."""


class UnknownSystem(TerminologyError, LookupError):
    """A code system this server does not have."""


class UnknownValueSet(TerminologyError, LookupError):
    """A value set this server cannot expand."""


class UnknownConceptMap(TerminologyError, LookupError):
    """A concept map this server does not have."""


class UnsupportedFilter(TerminologyError):
    """A value set filter (property and operator) this server does not evaluate."""


class InvalidFilter(TerminologyError):
    """A supported filter whose value is malformed (a regex that does not compile, an unknown code)."""
