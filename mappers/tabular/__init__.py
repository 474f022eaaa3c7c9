"""Tabular exports (CSV or TSV files) mapped to FHIR by a declarative spec: which file holds which kind of
record (patients, visits, diagnoses, lab results, prescriptions, procedures, allergies) and which column
carries which FHIR element. A new hospital layout is a new spec in ``specs/``, not new code.
"""
