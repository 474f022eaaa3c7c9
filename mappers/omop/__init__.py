"""OMOP CDM v5.4 to FHIR R4, following the HL7 OMOP-to-FHIR mappings (the Vulcan "FHIR to OMOP" IG read in
reverse): person, observation_period, visit_occurrence, condition_occurrence, drug_exposure, measurement,
observation, procedure_occurrence, death and specimen, from a folder of CSV files or a database.
"""
