"""Versioned storage of FHIR resources in a relational database; plain Python, no Flask."""
