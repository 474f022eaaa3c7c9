"""A FHIR R4 clinical data server: versioned storage, the RESTful API, search and cohorts."""
