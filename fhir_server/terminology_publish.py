"""Publishing the loaded terminology into the database: the closure and member tables token search uses,
and the CodeSystem, ValueSet and ConceptMap resources clients read (https://hl7.org/fhir/R4/terminologies.html).

Run by `fhir-server init-db` and `fhir-server load-terminology`. Each part is rewritten only when its
fingerprint changed. CodeSystems are published with ``content: not-present``: their concepts are
served by `$lookup`, `$validate-code` and `$subsumes`, not as a resource of tens of thousands of concepts.
The cohort ValueSets carry their rule in prose; `$expand` computes their expansion.
"""

from __future__ import annotations

import hashlib
import re

from werkzeug.datastructures import Headers

from fhir_server import json_codec
from fhir_server.pipeline import Context, FhirRequest
from fhir_server.storage import terminology as tables
from terminology import conceptmaps, valuesets
from terminology.codesystem import CodeSystem

PUBLISHER = "fhir-server"
_PROPERTIES = [
    {"code": "parent", "uri": "http://hl7.org/fhir/concept-properties#parent", "type": "code",
     "description": "A direct parent of the concept."},
    {"code": "child", "uri": "http://hl7.org/fhir/concept-properties#child", "type": "code",
     "description": "A direct child of the concept."},
    {"code": "inactive", "uri": "http://hl7.org/fhir/concept-properties#inactive", "type": "boolean",
     "description": "True if the concept is retired."},
    {"code": "kind", "type": "string", "description": "The level of the concept in the hierarchy (for ICD-10: "
                                                     "chapter, block, category, subcategory)."},
]


def publish(context: Context) -> list[str]:
    """Publish what changed; returns one line per part published."""
    return publish_index(context) + publish_resources(context)


def publish_index(context: Context) -> list[str]:
    """The closure of every loaded code system and the members of every cohort value set."""
    service, done = context.terminology, []
    with context.repository.database.write() as connection:
        before = tables.published(connection)
        for url, code_system in service.terminology.systems.items():
            fingerprint = _fingerprint(code_system)
            if before.get(url) != fingerprint:
                tables.replace_closure(connection, url, ((ancestor, descendant) for ancestor, descendant
                                                         in code_system.closure() if len(descendant) <= 64
                                                         and len(ancestor) <= 64), fingerprint)
                done.append(f"closure of {url}")
        for value_set in valuesets.COHORT_VALUE_SETS:
            members = service.cohort_members(value_set.url)
            fingerprint = f"{valuesets.VERSION}:{_digest(f'{system}|{code}' for system, code in members)}"
            if before.get(value_set.url) != fingerprint:
                tables.replace_members(connection, value_set.url, members, fingerprint)
                done.append(f"{len(members)} members of {value_set.url}")
    return done


def publish_resources(context: Context) -> list[str]:
    """The CodeSystem, ValueSet and ConceptMap resources, stored with stable ids (an unchanged one keeps
    its version)."""
    service = context.terminology
    terminology = service.terminology
    resources = [code_system_resource(code_system) for code_system in _distinct(terminology.systems.values())]
    resources += [value_set_resource(value_set) for value_set in valuesets.COHORT_VALUE_SETS]
    resources += [concept_map_resource(definition, service) for definition in conceptmaps.available(terminology)]
    with context.repository.database.read() as connection:
        before = tables.published(connection)
    done = []
    for resource in resources:
        reference = f"{resource['resourceType']}/{resource['id']}"
        body = json_codec.dump(resource)
        fingerprint = hashlib.sha256(body).hexdigest()
        if before.get(reference) == fingerprint:
            continue
        request = FhirRequest("PUT", reference, body=body, headers=Headers({"Content-Type": "application/fhir+json"}),
                              base_url=context.settings.base_url)
        response = context.pipeline.handle(request, context)
        with context.repository.database.write() as connection:
            tables.mark(connection, reference, "resource", fingerprint)
        done.append(f"{reference} ({response.status})")
    return done


def resource_id(code_system: CodeSystem) -> str:
    return re.sub(r"[^a-z0-9]+", "-", code_system.name.lower()).strip("-")


def code_system_resource(code_system: CodeSystem) -> dict:
    return {"resourceType": "CodeSystem", "id": resource_id(code_system), "url": code_system.url,
            "version": code_system.version, "name": code_system.name, "title": code_system.title,
            "status": "active", "experimental": False, **_publisher(code_system.publisher),
            **({"copyright": code_system.copyright} if code_system.copyright else {}),
            "caseSensitive": True, "hierarchyMeaning": "is-a", "content": "not-present",
            "count": len(code_system.concepts), "property": _PROPERTIES}


def value_set_resource(value_set: valuesets.CohortValueSet) -> dict:
    return {"resourceType": "ValueSet", "id": value_set.id, "url": value_set.url, "version": valuesets.VERSION,
            "name": value_set.name, "title": value_set.title, "status": "active", "experimental": False,
            **_publisher(PUBLISHER), "description": value_set.description + " Expand it with `$expand`; search "
            "with `code:in=" + value_set.url + "`."}


def concept_map_resource(definition: conceptmaps.ConceptMapDef, service) -> dict:
    source, target = service.system(definition.source), service.system(definition.target)
    elements = service.translator.elements(definition)
    return {"resourceType": "ConceptMap", "id": definition.id, "url": definition.url,
            "version": conceptmaps.VERSION, "name": re.sub(r"[^A-Za-z0-9]", "", definition.title.title()),
            "title": definition.title, "status": "active", "experimental": False, **_publisher(PUBLISHER),
            "group": [{"source": definition.source, "sourceVersion": source.version, "target": definition.target,
                       "targetVersion": target.version,
                       "element": [{"code": code, "display": source.concepts[code].display,
                                    "target": [{"code": each.code, "display": target.concepts[each.code].display,
                                                "equivalence": each.equivalence} for each in targets]}
                                   for code, targets in sorted(elements.items())]}]}


def _publisher(name: str) -> dict:
    return {"publisher": name} if name else {}


def _distinct(code_systems):
    seen = []
    for code_system in code_systems:
        if all(code_system is not other for other in seen):
            seen.append(code_system)
    return seen


def _fingerprint(code_system: CodeSystem) -> str:
    return f"{code_system.version}:{len(code_system.concepts)}:{_digest(f'{child}<{parents}' for child, parents in sorted(code_system.parents.items()))}"


def _digest(lines) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()[:32]
