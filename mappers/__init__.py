"""Mappers: hospital EMR exports (CSV tables, OMOP CDM, HL7 v2 messages, VCF files) to FHIR R4 JSON.

Each mapper is pure: source records in, FHIR resources (plain dicts) and rejects out, with no database
and no network. ``fhir_server.importing`` validates what they make and loads it.
"""
