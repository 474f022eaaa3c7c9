"""FHIR Bulk Data (https://hl7.org/fhir/uv/bulkdata/STU2/): `$export` and `$import` as persisted jobs."""
