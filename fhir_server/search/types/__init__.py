"""One module per search parameter type (https://hl7.org/fhir/R4/search.html#ptypes).

Each offers ``index(item) -> list[row]`` (the index rows for one extracted value) and
``parse(raw, modifier) -> value`` (one search value, validated). The backends compile the values.
"""
