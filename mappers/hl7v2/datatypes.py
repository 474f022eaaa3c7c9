"""HL7 v2 data types as FHIR data types, after the v2-to-FHIR data type maps: DTM -> dateTime, CX ->
Identifier, XPN -> HumanName, XAD -> Address, XTN -> ContactPoint, CWE/CE -> CodeableConcept."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from mappers.base import RecordError

_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")
# HL7 table 0396 coding system names -> FHIR code system URLs
SYSTEMS = {
    "I10": "http://hl7.org/fhir/sid/icd-10", "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "I10C": "http://hl7.org/fhir/sid/icd-10-cm", "ICD10CM": "http://hl7.org/fhir/sid/icd-10-cm",
    "KCD": "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8", "KCD7": "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8",
    "KCD8": "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8",
    "LN": "http://loinc.org", "LOINC": "http://loinc.org", "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct", "CVX": "http://hl7.org/fhir/sid/cvx", "NDC": "http://hl7.org/fhir/sid/ndc",
    "RXN": "http://www.nlm.nih.gov/research/umls/rxnorm", "RXNORM": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "UCUM": "http://unitsofmeasure.org", "ORPHA": "http://www.orpha.net",
    "HIRA": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-procedure",
}


def system_url(name: str, source_system: str) -> str:
    if name in SYSTEMS:
        return SYSTEMS[name]
    if re.fullmatch(r"HL7\d{4}", name):
        return f"http://terminology.hl7.org/CodeSystem/v2-{name[3:]}"
    return f"{source_system}/coding-system/{name}"  # a local system (99zzz, L): namespaced by the sender


def date_time(text: str, zone: ZoneInfo, where: str) -> str | None:
    """DTM as a FHIR dateTime, keeping its precision; a time without an offset is in the sender's zone."""
    if not text:
        return None
    match = _DTM.match(text)
    if not match:
        raise RecordError(f"`{text}` is not an HL7 date/time (YYYYMMDDHHMMSS[+ZZZZ])", where)
    year, month, day, hour, minute, second, offset = match.groups()
    try:
        if hour is None:
            date(int(year), int(month or 1), int(day or 1))  # checks the date exists
            return "-".join(part for part in (year, month, day) if part)
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute or 0), int(second or 0))
    except (ValueError, TypeError):
        raise RecordError(f"`{text}` is not a date that exists", where) from None
    if offset:
        sign = 1 if offset[0] == "+" else -1
        stamp = moment.isoformat()
        return f"{stamp}{offset[0]}{offset[1:3]}:{offset[3:]}" if sign else stamp
    return moment.replace(tzinfo=zone).isoformat()


def identifier(components: list[str], source_system: str) -> dict | None:
    """CX: ID ^ check digit ^ scheme ^ assigning authority ^ type code."""
    value = components[0] if components else ""
    if not value:
        return None
    found = {"value": value}
    authority = components[3].split("&")[0] if len(components) > 3 else ""
    found["system"] = f"{source_system}/identifier/{authority}" if authority else f"{source_system}/identifier"
    kind = components[4] if len(components) > 4 else ""
    if kind:
        found["type"] = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": kind}]}
    return found


def human_name(components: list[str]) -> dict | None:
    """XPN: family ^ given ^ middle ^ suffix ^ prefix; Korean names often come whole in the family part."""
    part = (components + [""] * 5)[:5]
    family, given, middle, suffix, prefix = (piece.split("&")[0] for piece in part)
    name = {}
    if family:
        name["family"] = family
    given_names = [piece for piece in (given, middle) if piece]
    if given_names:
        name["given"] = given_names
    if prefix:
        name["prefix"] = [prefix]
    if suffix:
        name["suffix"] = [suffix]
    return name or None


def address(components: list[str]) -> dict | None:
    """XAD: street ^ other ^ city ^ state ^ postal code ^ country."""
    part = (components + [""] * 6)[:6]
    street, other, city, state, postal, country = (piece.split("&")[0] for piece in part)
    found = {key: value for key, value in (("city", city), ("state", state), ("postalCode", postal),
                                           ("country", country)) if value}
    lines = [line for line in (street, other) if line]
    if lines:
        found["line"] = lines
    return found or None


def contact_point(components: list[str]) -> dict | None:
    """XTN: the number (component 1, or 12 as v2.5+ puts it unformatted), and its use."""
    number = (components[0] if components else "") or (components[11] if len(components) > 11 else "")
    if not number:
        return None
    email = len(components) > 3 and components[3]
    use = {"PRN": "home", "WPN": "work", "ORN": "home"}.get(components[1] if len(components) > 1 else "")
    found = {"system": "email" if email and "@" in email else "phone", "value": email if email and "@" in email
             else number}
    if use:
        found["use"] = use
    return found


def concept(components: list[str], source_system: str) -> dict | None:
    """CWE/CE: code ^ text ^ system ^ alternate code ^ alternate text ^ alternate system."""
    part = (components + [""] * 6)[:6]
    codings = []
    for code, text, system in ((part[0], part[1], part[2]), (part[3], part[4], part[5])):
        if code:
            coding = {"system": system_url(system, source_system), "code": code} if system else {"code": code}
            if text:
                coding["display"] = text
            codings.append(coding)
    text = part[1] or part[4]
    if not codings:
        return {"text": text} if text else None
    return {"coding": codings, "text": text} if text else {"coding": codings}

