"""specimen -> Specimen (https://hl7.org/fhir/R4/specimen.html)."""

from mappers import numbers

TABLE, RESOURCE_TYPE, KEY = "specimen", "Specimen", "specimen_id"


def build(row: dict, context) -> dict:
    specimen = {"resourceType": RESOURCE_TYPE, "id": context.id(RESOURCE_TYPE, row[KEY]),
                "subject": context.patient(row)}
    kind = context.concept(row, "specimen", required=False)
    if kind:
        specimen["type"] = kind
    collection = {}
    collected = context.moment(row, "specimen_date", "specimen_datetime")
    if collected:
        collection["collectedDateTime"] = collected
    quantity = numbers.decimal(row.get("quantity"), "quantity")
    if quantity is not None:
        unit = context.concepts.get(row.get("unit_concept_id"))
        collection["quantity"] = {"value": quantity, **({"unit": unit.code, "system": unit.system, "code": unit.code}
                                                        if unit else {})}
    site = context.concept(row, "anatomic_site", required=False)
    if site:
        collection["bodySite"] = site
    if collection:
        specimen["collection"] = collection
    if row.get("specimen_source_id"):
        specimen["identifier"] = [{"system": f"{context.source_system}/specimen_source_id",
                                   "value": row["specimen_source_id"]}]
    return specimen
