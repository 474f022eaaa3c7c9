"""observation -> Observation: OMOP's clinical facts that are neither measurements nor conditions (social
history, survey answers, findings), with a number, a concept or a text value."""

from mappers.omop.tables.measurement import observation as build_observation

TABLE, RESOURCE_TYPE, KEY = "observation", "Observation", "observation_id"


def build(row: dict, context) -> dict:
    return build_observation(row, context, "observation", None)
