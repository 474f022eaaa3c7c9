"""What the terminology operations share: the code or Coding asked about, the resource an instance-level
call names, and a 400/404 that says what was wrong with a code."""

from __future__ import annotations

from fhir_server import json_codec
from fhir_server.errors import BadRequest, NotFound
from fhir_server.operations.inputs import Inputs
from fhir_server.pipeline import Context
from terminology.codesystem import CodeSystem


def coding(inputs: Inputs, *, code: str = "code", system: str = "system", coding_name: str = "coding",
           version: str = "version", required: bool = True) -> tuple[str | None, str | None, str | None, str | None]:
    """(system, code, version, display) from ``code`` + ``system`` or from a Coding (or CodeableConcept's first)."""
    given = inputs.get(coding_name)
    concept = inputs.get("codeableConcept") if coding_name == "coding" and inputs.has("codeableConcept") else None
    if concept is not None:
        codings = [each for each in concept.get("coding", ()) if isinstance(each, dict)]
        if not codings:
            raise BadRequest(f"`{inputs.operation}`: `codeableConcept` has no coding.", expression=("codeableConcept",))
        given = codings[0]
    if given is not None:
        if inputs.has(code):
            raise BadRequest(f"`{inputs.operation}` takes `{code}` or `{coding_name}`, not both.", expression=(code,))
        found = given.get("system"), given.get("code"), given.get("version"), given.get("display")
    else:
        found = inputs.get(system), inputs.get(code), inputs.get(version), inputs.get("display")
    if required and not found[1]:
        raise BadRequest(f"`{inputs.operation}` needs `{code}` (with `{system}`) or `{coding_name}`.",
                         expression=(code,))
    return found


def stored(context: Context, resource_type: str, id_: str) -> dict:
    """The current version of an instance-level call's resource, parsed (its url or compose is needed)."""
    with context.reading() as connection:
        version = context.repository.read(resource_type, id_, connection)
    return json_codec.parse(version.body)


def stored_by_url(context: Context, resource_type: str, url: str) -> dict | None:
    """The stored resource of ``resource_type`` whose canonical ``url`` (optionally ``url|version``) this is."""
    plain, _, version = url.partition("|")
    params = [("url", plain)] + ([("version", version)] if version else [])
    with context.reading() as connection:
        query = context.search.parse(resource_type, params, strict=True)
        found = context.search.search(connection, query, limit=2)
    if not found:
        return None
    if len(found) > 1:
        raise BadRequest(f"Several {resource_type} resources have the url `{url}`; name a version or call the "
                         "operation on one of them.")
    return json_codec.parse(found[0][0].body)


def unknown_code(context: Context, code_system: CodeSystem, code: str) -> str:
    """Why ``code`` is not in ``code_system``, with the code it normalizes to when there is one."""
    message = f"`{code}` is not a code of `{code_system.url}` (version {code_system.version})."
    normalized = context.terminology.normalizer.normalize(code, code_system.url)
    if normalized.recognized and normalized.codings[0].system == code_system.url:
        message += f" Did you mean `{normalized.codings[0].code}`? ({'; '.join(normalized.notes) or normalized.status})"
    return message


def require_code(context: Context, code_system: CodeSystem, code: str):
    concept = code_system.get(code)
    if concept is None:
        raise NotFound(unknown_code(context, code_system, code))
    return concept
