"""HL7 v2.x messages (2.3 to 2.8) to FHIR R4, following HL7's v2-to-FHIR mappings
(https://build.fhir.org/ig/HL7/v2-to-fhir/): one module per message structure in ``messages/``, shared
segment mappings in ``segments.py`` and data types in ``datatypes.py``.
"""
