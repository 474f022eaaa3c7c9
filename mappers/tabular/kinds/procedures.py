"""A table of procedures -> Procedure (https://hl7.org/fhir/R4/procedure.html)."""

from mappers.tabular.record import Record, compact, concept
from mappers.tabular.values import CODING, DATETIME, TEXT, code, reference

KIND = "procedures"
RESOURCE_TYPE = "Procedure"
ELEMENTS = {
    "subject": reference("patients"), "encounter": reference("visits"), "code": CODING,
    "status": code("preparation", "in-progress", "not-done", "on-hold", "stopped", "completed", "entered-in-error",
                   "unknown"),
    "performed.start": DATETIME, "performed.end": DATETIME, "reasonCode": CODING, "bodySite": CODING, "note": TEXT,
}
REQUIRED = ("subject", "code")


def build(record: Record) -> dict:
    get = record.get
    start, end = get("performed.start"), get("performed.end")
    return compact({
        "resourceType": RESOURCE_TYPE, "id": record.id, "status": get("status") or "completed",
        "code": concept(get("code")), "subject": get("subject"), "encounter": get("encounter"),
        # A single moment is performedDateTime; a start and an end make a period.
        "performedDateTime": start if end is None else None,
        "performedPeriod": compact({"start": start, "end": end}) if end is not None else None,
        "reasonCode": [concept(get("reasonCode"))] if record.has("reasonCode") else None,
        "bodySite": [concept(get("bodySite"))] if record.has("bodySite") else None,
        "note": [{"text": get("note")}] if record.has("note") else None,
    })
