"""VCF 4.x genome files to Genomics Reporting Observations, one per sample's variant call, grouped by a
DiagnosticReport per sample (https://hl7.org/fhir/uv/genomics-reporting/). Files are streamed line by line,
plain or gzip/bgzip compressed, with any number of samples.
"""
