"""The kinds of table a spec can name, one module each: the FHIR elements its columns may carry (with their
value types), the ones it must carry, and how a row's values become the resource.

A kind module defines ``RESOURCE_TYPE``, ``ELEMENTS`` (element name -> ValueType), ``REQUIRED`` and
``build(record) -> dict``.
"""

from mappers.tabular.kinds import allergies, diagnoses, labs, patients, prescriptions, procedures, visits

# In loading order: a row that refers to a patient or a visit comes after the table that holds them.
KINDS = {module.KIND: module for module in (patients, visits, diagnoses, labs, prescriptions, procedures, allergies)}
