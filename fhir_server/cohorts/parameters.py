"""A protected cohort answer as the Parameters resource `$cohort-count` returns, and back (a federation
coordinator reads its peers' answers with it).

    count        valueInteger, or valueString "<10" (suppressed) / ">=10" (threshold rule)
    hospital     valueString
    k            valueInteger
    rule         valueString, repeated
    epsilon, budgetRemaining   valueDecimal (the requester's privacy budget)
    breakdown    part: dimension (valueCode), then a cell part per category: category, count
"""

from __future__ import annotations

from fhir_server.errors import BadRequest


def _count(name: str, value) -> dict:
    return {"name": name, "valueInteger": value} if isinstance(value, int) else {"name": name, "valueString": value}


def to_parameters(released: dict, epsilon: float | None = None, budget_left: float | None = None) -> dict:
    parameter = [_count("count", released["total"]), {"name": "hospital", "valueString": released["hospital"]},
                 {"name": "k", "valueInteger": released["k"]},
                 *({"name": "rule", "valueString": rule} for rule in released["rules"])]
    if epsilon is not None:
        parameter += [{"name": "epsilon", "valueDecimal": round(epsilon, 6)},
                      {"name": "budgetRemaining", "valueDecimal": round(budget_left, 6)}]
    for dimension, cells in released["breakdowns"].items():
        parameter.append({"name": "breakdown", "part": [
            {"name": "dimension", "valueCode": dimension},
            *({"name": "cell", "part": [{"name": "category", "valueString": category}, _count("count", value)]}
              for category, value in cells.items())]})
    return {"resourceType": "Parameters", "parameter": parameter}


def from_parameters(resource: dict) -> dict:
    """The released answer a Parameters resource carries; BadRequest if it is not one."""
    try:
        found = {"rules": [], "breakdowns": {}}
        for parameter in resource["parameter"]:
            name = parameter["name"]
            if name == "count":
                found["total"] = _value(parameter)
            elif name in ("hospital", "k"):
                found[name] = _value(parameter)
            elif name == "rule":
                found["rules"].append(parameter["valueString"])
            elif name == "breakdown":
                parts = parameter["part"]
                dimension = parts[0]["valueCode"]
                found["breakdowns"][dimension] = {
                    cell["part"][0]["valueString"]: _value(cell["part"][1]) for cell in parts[1:]}
        if not {"total", "hospital", "k"} <= set(found):
            raise KeyError("count, hospital or k")
        return found
    except (KeyError, IndexError, TypeError) as error:
        raise BadRequest(f"Not a `$cohort-count` answer: {error}.") from None


def _value(parameter: dict):
    for key in ("valueInteger", "valueString"):
        if key in parameter:
            return parameter[key]
    raise KeyError(parameter.get("name"))


def federated_parameters(combined: dict) -> dict:
    """A federated answer: the combined counts, then a `hospital` part for each hospital asked."""
    parameter = [] if combined["total"] is None else [_count("count", combined["total"])]
    parameter.append({"name": "k", "valueInteger": combined["k"]})
    for dimension, cells in combined["breakdowns"].items():
        parameter.append({"name": "breakdown", "part": [
            {"name": "dimension", "valueCode": dimension},
            *({"name": "cell", "part": [{"name": "category", "valueString": category}, _count("count", value)]}
              for category, value in cells.items())]})
    for hospital in combined["hospitals"]:
        parameter.append({"name": "hospital", "part": [
            {"name": "name", "valueString": hospital["hospital"]}, {"name": "status", "valueCode": hospital["status"]},
            *([{"name": "message", "valueString": hospital["message"]}] if hospital.get("message") else []),
            *([_count("count", hospital["total"])] if "total" in hospital else [])]})
    return {"resourceType": "Parameters", "parameter": parameter}
