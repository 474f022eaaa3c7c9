"""FHIR search (https://hl7.org/fhir/R4/search.html): parameters, index extraction, queries, backends.

Plain Python, no Flask: the README's Search section lists what is supported.
"""
