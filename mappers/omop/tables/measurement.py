"""measurement -> Observation (https://hl7.org/fhir/R4/observation.html), category laboratory: the value as
a number (with the operator as comparator and the UCUM unit) or as a concept, and the reference range."""

from mappers import numbers

TABLE, RESOURCE_TYPE, KEY = "measurement", "Observation", "measurement_id"
CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
OPERATORS = {"4171756": "<", "4171754": "<=", "4171755": ">=", "4172704": ">"}  # 4172703 is `=`


def build(row: dict, context) -> dict:
    return observation(row, context, "measurement", "laboratory")


def observation(row: dict, context, prefix: str, category: str | None) -> dict:
    """The Observation of a measurement or observation row (they differ in a few columns)."""
    key = f"{prefix}_id"
    resource = {"resourceType": RESOURCE_TYPE, "id": context.id(f"{RESOURCE_TYPE}/{prefix}", row[key]),
                "status": "final", "code": context.concept(row, prefix), "subject": context.patient(row)}
    if category:
        resource["category"] = [{"coding": [{"system": CATEGORY, "code": category}]}]
    encounter = context.encounter(row)
    if encounter:
        resource["encounter"] = encounter
    effective = context.moment(row, f"{prefix}_date", f"{prefix}_datetime")
    if effective:
        resource["effectiveDateTime"] = effective
    unit = context.concepts.get(row.get("unit_concept_id"))
    unit_fields = {"unit": unit.code, "system": unit.system, "code": unit.code} if unit and unit.vocabulary == "UCUM" \
        else {"unit": row["unit_source_value"]} if row.get("unit_source_value") else {}
    number = numbers.decimal(row.get("value_as_number"), "value_as_number")
    value_concept = context.concepts.get(row.get("value_as_concept_id"))
    if number is not None:
        quantity = {"value": number, **unit_fields}
        comparator = OPERATORS.get(row.get("operator_concept_id", ""))
        if comparator:
            quantity["comparator"] = comparator
        resource["valueQuantity"] = quantity
    elif value_concept:
        resource["valueCodeableConcept"] = {"coding": [value_concept.coding()]}
    elif row.get("value_as_string"):
        resource["valueString"] = row["value_as_string"]
    bounds = {bound: {"value": value, **unit_fields} for bound, value in
              (("low", numbers.decimal(row.get("range_low"), "range_low")),
               ("high", numbers.decimal(row.get("range_high"), "range_high"))) if value is not None}
    if bounds:
        resource["referenceRange"] = [bounds]
    return resource

