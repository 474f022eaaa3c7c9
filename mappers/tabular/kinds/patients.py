"""A table of patients -> Patient (https://hl7.org/fhir/R4/patient.html)."""

from mappers.tabular.record import Record, compact
from mappers.tabular.values import DATE, DATETIME, IDENTIFIER, TEXT, code

KIND = "patients"
RESOURCE_TYPE = "Patient"
ELEMENTS = {
    "identifier": IDENTIFIER, "name.text": TEXT, "name.family": TEXT, "name.given": TEXT,
    "gender": code("male", "female", "other", "unknown"), "birthDate": DATE, "deceasedDateTime": DATETIME,
    "address.text": TEXT, "address.line": TEXT, "address.city": TEXT, "address.district": TEXT,
    "address.state": TEXT, "address.postalCode": TEXT, "address.country": TEXT,
    "telecom.phone": TEXT, "telecom.email": TEXT,
}
REQUIRED = ()


def build(record: Record) -> dict:
    get = record.get
    name = compact({"text": get("name.text"), "family": get("name.family"),
                    "given": [get("name.given")] if record.has("name.given") else None})
    address = compact({"text": get("address.text"), "line": [get("address.line")] if record.has("address.line") else None,
                       "city": get("address.city"), "district": get("address.district"), "state": get("address.state"),
                       "postalCode": get("address.postalCode"), "country": get("address.country")})
    telecom = [{"system": system, "value": get(f"telecom.{system}")} for system in ("phone", "email")
               if record.has(f"telecom.{system}")]
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id, "identifier": [get("identifier")] if record.has("identifier") else None,
        "name": [name] if name else None, "telecom": telecom, "gender": get("gender"), "birthDate": get("birthDate"),
        "deceasedDateTime": get("deceasedDateTime"), "address": [address] if address else None,
    })
