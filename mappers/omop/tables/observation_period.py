"""observation_period -> EpisodeOfCare (https://hl7.org/fhir/R4/episodeofcare.html): the span in which the
source holds the person's records, as the OMOP-on-FHIR mappings carry it."""

TABLE, RESOURCE_TYPE, KEY = "observation_period", "EpisodeOfCare", "observation_period_id"


def build(row: dict, context) -> dict:
    start = context.moment(row, "observation_period_start_date")
    end = context.moment(row, "observation_period_end_date")
    return {"resourceType": RESOURCE_TYPE, "id": context.id(RESOURCE_TYPE, row[KEY]), "status": "finished",
            "patient": context.patient(row), "period": {key: value for key, value in (("start", start), ("end", end))
                                                         if value}}
