"""Maps a method and a path relative to the FHIR base to the interaction that handles it.

Built from the declared interactions (``interactions.INTERACTIONS``), so routes, the seam and the
CapabilityStatement all derive from one list. Uses werkzeug's routing, which needs no Flask, so
Bundle entries are routed exactly like HTTP requests.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable

from werkzeug.exceptions import MethodNotAllowed as RoutingMethodNotAllowed
from werkzeug.exceptions import NotFound as RoutingNotFound
from werkzeug.routing import Map, Rule

from fhir_server.errors import MethodNotAllowed, NotFound
from fhir_server.http import check_id


# A type and an id (https://hl7.org/fhir/R4/datatypes.html#id): no `_` or `$`, so never `_history` or an operation.
_INSTANCE = re.compile(r"([A-Z][A-Za-z]*)/([A-Za-z0-9\-.]{1,64})")


@dataclass(frozen=True)
class Route:
    interaction: str
    handler: Callable
    args: dict


class Router:
    def __init__(self, interactions, supported_type: Callable[[str], bool]):
        self._supported_type = supported_type
        self._by_rule: dict[tuple[str, str], object] = {}
        methods = defaultdict(set)
        for interaction in interactions:
            self._by_rule[(interaction.path, interaction.method)] = interaction
            methods[interaction.path].add(interaction.method)
        rules = [Rule(path, endpoint=path, methods=sorted(allowed)) for path, allowed in methods.items()]
        # Fixed paths (/metadata, /_history) must not fall through to /<type> for other methods.
        self._fixed = {path: tuple(sorted(allowed)) for path, allowed in methods.items() if "<" not in path}
        self._adapter = Map(rules, strict_slashes=False, merge_slashes=False).bind("fhir.local", "/")
        self._instances: dict[tuple[str, str], Route] = {}

    def match(self, method: str, path: str) -> Route:
        method = "GET" if method == "HEAD" else method
        instance = _INSTANCE.fullmatch(path)
        if instance:  # `Type/id`: routed once per method and type, then reused for every id (a bulk load's writes)
            key = (method, instance.group(1))
            route = self._instances.get(key)
            if route is None:
                route = self._match(method, path)
                if route.args.keys() != {"type", "id"}:
                    return route
                self._instances[key] = route
            return Route(route.interaction, route.handler, {"type": instance.group(1), "id": instance.group(2)})
        return self._match(method, path)

    def _match(self, method: str, path: str) -> Route:
        allowed = self._fixed.get("/" + path.rstrip("/"))
        if allowed is not None and method not in allowed:
            raise MethodNotAllowed(f"`{method}` is not allowed on `/{path}`; allowed: {', '.join(allowed)}.", allowed)
        try:
            rule, args = self._adapter.match("/" + path, method=method)
        except RoutingMethodNotAllowed as error:
            allowed = tuple(sorted(set(error.valid_methods or ()) - {"HEAD", "OPTIONS"}))
            raise MethodNotAllowed(f"`{method}` is not allowed on `/{path}`; allowed: {', '.join(allowed)}.",
                                   allowed) from None
        except RoutingNotFound:
            raise NotFound(f"There is no FHIR endpoint at `/{path}`.") from None
        resource_type = args.get("type")
        if resource_type is not None and not self._supported_type(resource_type):
            raise NotFound(f"Resource type `{resource_type}` is not supported by this server.")
        if "id" in args:
            check_id(args["id"])
        interaction = self._by_rule[(rule, method)]
        return Route(interaction.name, interaction.handler, args)
