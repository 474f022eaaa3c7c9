"""A deterministic synthetic Korean hospital population of any size, for demos, tests and benchmarks.

``hospital.py`` draws the patients and writes them as the hospital's EMR export (the `korean-hospital`
tabular layout, CP949) with per-sample VCF files for the sequenced share; ``fhir.py`` turns that export into
FHIR through the project's own mappers and writes it as NDJSON or transaction Bundles, so every output
format holds the same patients. ``python -m population --help`` runs it.
"""
