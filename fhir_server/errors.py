"""Typed errors and the one place that turns them into OperationOutcome resources.

See https://hl7.org/fhir/R4/operationoutcome.html and http.html#2.21.0.17 for status codes.
Handlers raise these; ``app.py`` and the Bundle processor call :func:`outcome_for` to answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from terminology import errors as terminology_errors


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: what went wrong and, where known, at which element."""

    severity: str
    code: str
    diagnostics: str
    expression: tuple[str, ...] = ()

    def to_json(self) -> dict:
        issue = {"severity": self.severity, "code": self.code, "diagnostics": self.diagnostics}
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


class FhirError(Exception):
    """A client's or the server's failure with its HTTP status and OperationOutcome issue code."""

    status = 500
    issue_code = "exception"

    def __init__(self, message: str, *, expression: tuple[str, ...] = (), issues: list[Issue] | None = None):
        super().__init__(message)
        self.message = message
        self.issues = issues or [Issue("error", self.issue_code, message, expression)]


    def at(self, location: str) -> "FhirError":
        """The same error, its issues prefixed with where it happened, e.g. ``Bundle.entry[3]``."""
        self.issues = [
            Issue(issue.severity, issue.code, f"{location}: {issue.diagnostics}",
                  tuple(f"{location}.{path}" if not path.startswith("Bundle.") else path for path in issue.expression)
                  or (location,))
            for issue in self.issues
        ]
        return self


class BadRequest(FhirError):
    status, issue_code = 400, "invalid"


class NotSupported(FhirError):
    """A well-formed request for something this server does not do (a filter, a modifier)."""

    status, issue_code = 400, "not-supported"


class InvalidResource(FhirError):
    """The body is not a valid FHIR R4 resource; issues carry the validator's messages and paths."""

    status, issue_code = 400, "invalid"


class Unauthorized(FhirError):
    """No valid bearer token (https://www.rfc-editor.org/rfc/rfc6750#section-3): the client must authenticate."""

    status, issue_code = 401, "login"

    def __init__(self, message: str, *, error: str | None = "invalid_token"):
        super().__init__(message)
        # A request without any token gets the bare challenge; a bad token also says why (RFC 6750).
        self.challenge = "Bearer" if error is None else f'Bearer error="{error}", error_description="{message}"'


class Forbidden(FhirError):
    """A valid token whose scopes or role do not reach this interaction or resource."""

    status, issue_code = 403, "forbidden"


class PolicyRefused(FhirError):
    """The node's privacy policy declines to answer (a differencing query, a spent budget): a business rule,
    not a missing permission, so a federation coordinator reports it as refused by policy."""

    status, issue_code = 403, "business-rule"


class NotFound(FhirError):
    status, issue_code = 404, "not-found"


class MethodNotAllowed(FhirError):
    status, issue_code = 405, "not-supported"

    def __init__(self, message: str, allowed: tuple[str, ...] = ()):
        super().__init__(message)
        self.allowed = allowed


class NotAcceptable(FhirError):
    status, issue_code = 406, "not-supported"


class Conflict(FhirError):
    status, issue_code = 409, "conflict"


class Gone(FhirError):
    status, issue_code = 410, "deleted"

    def __init__(self, message: str, *, version_id: int | None = None, last_updated: int | None = None):
        super().__init__(message)
        self.version_id = version_id
        self.last_updated = last_updated


class PreconditionFailed(FhirError):
    status, issue_code = 412, "conflict"


class PayloadTooLarge(FhirError):
    status, issue_code = 413, "too-costly"


class UnsupportedMediaType(FhirError):
    status, issue_code = 415, "not-supported"


class Unprocessable(FhirError):
    status, issue_code = 422, "processing"


class Unavailable(FhirError):
    """Something the server depends on (a token issuer's keys) cannot be reached; the client may retry."""

    status, issue_code = 503, "transient"


class InternalError(FhirError):
    """Anything unexpected: the client sees this message only, never the cause."""

    status, issue_code = 500, "exception"

    def __init__(self):
        super().__init__("The server failed to process the request; the failure has been logged.")


class JobFailed(FhirError):
    """An asynchronous job (a bulk export or import) that failed on the server; the cause is in the log."""

    status, issue_code = 500, "exception"


def from_terminology(error) -> FhirError:
    """A terminology refusal (``terminology.errors``) as the FhirError clients get."""
    if isinstance(error, (terminology_errors.UnknownSystem, terminology_errors.UnknownValueSet,
                          terminology_errors.UnknownConceptMap)):
        return NotFound(str(error))
    if isinstance(error, terminology_errors.UnsupportedFilter):
        return NotSupported(str(error))
    return BadRequest(str(error))


def operation_outcome(issues: list[Issue]) -> dict:
    return {"resourceType": "OperationOutcome", "issue": [issue.to_json() for issue in issues]}


def outcome_for(error: FhirError) -> dict:
    return operation_outcome(error.issues)


def information(message: str, code: str = "informational") -> dict:
    """An OperationOutcome that reports success or a warning rather than a failure."""
    return operation_outcome([Issue("information", code, message)])
