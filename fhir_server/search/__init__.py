"""FHIR search (https://hl7.org/fhir/R4/search.html): parameters, index extraction, queries, backends.

Plain Python, no Flask. This first cut supports `_id` and the token parameters whose FHIRPath
expression is a plain element path (`identifier` among them), enough for conditional interactions.
"""
