"""procedure_occurrence -> Procedure (https://hl7.org/fhir/R4/procedure.html)."""

TABLE, RESOURCE_TYPE, KEY = "procedure_occurrence", "Procedure", "procedure_occurrence_id"


def build(row: dict, context) -> dict:
    start = context.moment(row, "procedure_date", "procedure_datetime")
    end = context.moment(row, "procedure_end_date", "procedure_end_datetime")
    procedure = {"resourceType": RESOURCE_TYPE, "id": context.id(RESOURCE_TYPE, row[KEY]), "status": "completed",
                 "code": context.concept(row, "procedure"), "subject": context.patient(row)}
    encounter = context.encounter(row)
    if encounter:
        procedure["encounter"] = encounter
    if start and end and end != start:
        procedure["performedPeriod"] = {"start": start, "end": end}
    elif start:
        procedure["performedDateTime"] = start
    return procedure
