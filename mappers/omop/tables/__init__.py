"""One module per CDM table: ``TABLE``, ``RESOURCE_TYPE``, ``KEY`` (the id column) and
``build(row, context) -> dict``. In loading order: people and visits before what refers to them."""

from mappers.omop.tables import (condition_occurrence, death, drug_exposure, measurement, observation,
                                 observation_period, person, procedure_occurrence, specimen, visit_occurrence)

TABLES = (person, observation_period, visit_occurrence, condition_occurrence, drug_exposure, measurement,
          observation, procedure_occurrence, death, specimen)
