"""An operation's input parameters, from the URL (GET) or a Parameters resource (POST), and its output
as a Parameters resource (https://hl7.org/fhir/R4/operations.html#request).

Each operation names its parameters and their types; anything else is a 400 that names it, as is a
value of the wrong type, so a misspelt parameter is never silently ignored.
"""

from __future__ import annotations

from fhir_server import http, json_codec
from fhir_server.errors import BadRequest
from fhir_server.pipeline import FhirRequest

_SIMPLE = {"string", "code", "uri", "canonical", "boolean", "integer"}


class Inputs:
    def __init__(self, request: FhirRequest, declared: dict[str, str], operation: str):
        """``declared``: parameter name -> FHIR type (string, code, uri, boolean, integer, Coding,
        CodeableConcept, or Resource for a resource-valued parameter)."""
        self.operation = operation
        self._values: dict[str, list] = {}
        if request.method == "POST" and (request.body.strip() or request.resource is not None):
            self._from_parameters(request, declared)
        else:
            for name, value in request.params:
                if name.startswith("_"):  # _format, _pretty: about the response
                    continue
                kind = self._declared(declared, name)
                if kind not in _SIMPLE:
                    raise BadRequest(f"`{operation}`: `{name}` is a {kind}; send it in a POST Parameters body.",
                                     expression=(name,))
                self._values.setdefault(name, []).append(self._simple(name, kind, value))

    def _declared(self, declared: dict[str, str], name: str) -> str:
        if name not in declared:
            raise BadRequest(f"`{self.operation}` has no parameter `{name}`; it takes "
                             f"{', '.join(f'`{known}`' for known in declared)}.", expression=(name,))
        return declared[name]

    def _from_parameters(self, request: FhirRequest, declared: dict[str, str]) -> None:
        body = http.json_body(request)
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise BadRequest(f"`{self.operation}` takes a Parameters resource.")
        for position, parameter in enumerate(body.get("parameter", ())):
            where = f"Parameters.parameter[{position}]"
            if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
                raise BadRequest(f"{where} has no name.", expression=(where,))
            name = parameter["name"]
            kind = self._declared(declared, name)
            if kind == "Resource":
                value = parameter.get("resource")
            else:
                key = "value" + kind[0].upper() + kind[1:]
                value = parameter.get(key)
                if value is None:
                    raise BadRequest(f"{where} (`{name}`) needs `{key}`.", expression=(where,))
            if value is None or (kind in _SIMPLE and not isinstance(value, (str, bool, int)))\
                    or (kind not in _SIMPLE and not isinstance(value, dict)):
                raise BadRequest(f"{where} (`{name}`) is not a {kind}.", expression=(where,))
            self._values.setdefault(name, []).append(value)

    def _simple(self, name: str, kind: str, raw: str):
        if kind == "boolean":
            if raw not in ("true", "false"):
                raise BadRequest(f"`{name}` takes true or false, not `{raw}`.", expression=(name,))
            return raw == "true"
        if kind == "integer":
            if not raw.lstrip("-").isdigit():
                raise BadRequest(f"`{name}` takes a whole number, not `{raw}`.", expression=(name,))
            return int(raw)
        return raw

    def get(self, name: str, default=None):
        values = self._values.get(name)
        if not values:
            return default
        if len(values) > 1:
            raise BadRequest(f"`{self.operation}` takes one `{name}`.", expression=(name,))
        return values[0]

    def all(self, name: str) -> list:
        """Every value of a repeatable parameter."""
        return list(self._values.get(name, ()))

    def has(self, name: str) -> bool:
        return name in self._values


def parameters(*parts: dict) -> bytes:
    """A Parameters resource of the given parameter entries."""
    return json_codec.dump({"resourceType": "Parameters", "parameter": [part for part in parts if part]})
