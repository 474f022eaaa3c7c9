"""Deterministic synthetic Korean hospital patients as FHIR R4 transaction Bundles.

Synthea-like in shape (a patient, encounters, KCD-coded conditions, LOINC lab results and vital
signs, medication requests, procedures, with references between them), small in code, stdlib only.
The same --seed always gives the same Bundles.

    python bench/synthetic.py --patients 20 --seed 7 --out data/demo
    python bench/synthetic.py --patients 100 --ids server --out /tmp/bundles   # POST with urn:uuid

--ids stable uses PUT with ids derived from the seed, so loading the files twice changes nothing;
--ids server uses POST and urn:uuid references, as an EMR export would.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

KST = timezone(timedelta(hours=9))
FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권"]
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "지호", "하은", "준우", "지민", "영수", "영희", "철수", "순자"]
CITIES = [("서울특별시", "11"), ("부산광역시", "26"), ("대구광역시", "27"), ("인천광역시", "28"), ("광주광역시", "29")]
KCD = "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8"
# (code, display, weight): common conditions, cancers and a few rare diseases.
CONDITIONS = [
    ("E11.9", "2형 당뇨병, 합병증을 동반하지 않은", 30), ("I10", "본태성(원발성) 고혈압", 35),
    ("J45.9", "상세불명의 천식", 10), ("K21.9", "식도염을 동반하지 않은 위-식도역류병", 15),
    ("C50.9", "상세불명의 유방의 악성 신생물", 4), ("C16.9", "상세불명의 위의 악성 신생물", 4),
    ("C34.9", "상세불명의 기관지 또는 폐의 악성 신생물", 3), ("C73", "갑상선의 악성 신생물", 4),
    ("G71.0", "근디스트로피", 1), ("E75.2", "기타 스핑고지질증(파브리병)", 1), ("G12.2", "운동신경세포병", 1),
]
LABS = [  # (LOINC, display, unit, low, high, decimals)
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%", 4.5, 9.5, 1),
    ("2345-7", "Glucose [Mass/volume] in Serum or Plasma", "mg/dL", 70, 220, 0),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL", 9.0, 17.0, 1),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL", 0.5, 1.8, 2),
    ("8480-6", "Systolic blood pressure", "mm[Hg]", 95, 170, 0),
    ("29463-7", "Body weight", "kg", 45, 95, 1),
]
DRUGS = [("643302330", "메트포르민염산염 500mg"), ("641901830", "암로디핀베실산염 5mg"),
         ("645403650", "아토르바스타틴칼슘 10mg"), ("655502140", "타목시펜시트르산염 20mg")]
PROCEDURES = [("M0111", "일반혈액검사"), ("HA411", "단순흉부촬영"), ("E6541", "위내시경")]


class PatientFactory:
    def __init__(self, seed: int, stable_ids: bool, visits: int = 0):
        self.random = random.Random(seed)
        self.seed = seed
        self.stable_ids = stable_ids
        self.visits = visits  # average visits per patient; 0 keeps the small default of 2 to 5
        self.counter = 0

    def _id(self, resource_type: str) -> str:
        self.counter += 1
        return str(uuid.UUID(int=self.random.getrandbits(128), version=4)) if not self.stable_ids else \
            f"s{self.seed}-{resource_type.lower()[:3]}-{self.counter}"

    def patient_entries(self, number: int) -> list[dict]:
        r = self.random
        entries = []

        def add(resource: dict) -> str:
            id_ = self._id(resource["resourceType"])
            if self.stable_ids:
                resource["id"] = id_
                entries.append({"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, id_)}", "resource": resource,
                                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{id_}"}})
                return f"{resource['resourceType']}/{id_}"
            full_url = f"urn:uuid:{id_}"
            entries.append({"fullUrl": full_url, "resource": resource,
                            "request": {"method": "POST", "url": resource["resourceType"]}})
            return full_url

        sex = r.choice(["male", "female"])
        birth = date(1935, 1, 1) + timedelta(days=r.randrange(365 * 85))
        city, city_code = r.choice(CITIES)
        patient = add({
            "resourceType": "Patient",
            "identifier": [{"system": "http://hospital.example.kr/registration-number",
                            "value": f"{self.seed:03d}{number:07d}"}],
            "active": True,
            "name": [{"text": f"{r.choice(FAMILY)}{r.choice(GIVEN)}"}],
            "gender": sex,
            "birthDate": birth.isoformat(),
            "address": [{"city": city, "postalCode": f"{city_code}{r.randrange(100, 999)}", "country": "KR"}],
            "telecom": [{"system": "phone", "value": f"010-{r.randrange(1000, 9999)}-{r.randrange(1000, 9999)}"}],
        })
        diagnoses = r.choices(CONDITIONS, weights=[weight for *_, weight in CONDITIONS], k=r.randint(1, 3))
        start = datetime(2015, 1, 1, 9, tzinfo=KST) + timedelta(days=r.randrange(365 * 8))
        visits = r.randint(2, 5) if not self.visits else r.randint(max(1, self.visits // 2), self.visits * 3 // 2)
        for visit in range(visits):
            moment = start + timedelta(days=visit * r.randint(20, 120) // max(1, visits // 8), hours=r.randrange(8))
            when = moment.isoformat(timespec="seconds")
            encounter = add({
                "resourceType": "Encounter", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB",
                          "display": "ambulatory"},
                "subject": {"reference": patient},
                "period": {"start": when, "end": (moment + timedelta(minutes=30)).isoformat(timespec="seconds")},
            })
            if visit == 0:
                for code, display, _ in {d[0]: d for d in diagnoses}.values():
                    add({
                        "resourceType": "Condition",
                        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                                       "code": "active"}]},
                        "code": {"coding": [{"system": KCD, "code": code, "display": display}], "text": display},
                        "subject": {"reference": patient}, "encounter": {"reference": encounter},
                        "onsetDateTime": when, "recordedDate": when,
                    })
            for loinc, display, unit, low, high, decimals in LABS:
                value = round(r.uniform(low, high), decimals)
                add({
                    "resourceType": "Observation", "status": "final",
                    "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                              "code": "laboratory" if unit not in ("mm[Hg]", "kg") else "vital-signs"}]}],
                    "code": {"coding": [{"system": "http://loinc.org", "code": loinc, "display": display}]},
                    "subject": {"reference": patient}, "encounter": {"reference": encounter},
                    "effectiveDateTime": when, "issued": moment.astimezone(timezone.utc).isoformat(timespec="milliseconds"),
                    "valueQuantity": {"value": value if decimals else int(value), "unit": unit,
                                      "system": "http://unitsofmeasure.org", "code": unit},
                })
            drug_code, drug_name = r.choice(DRUGS)
            add({
                "resourceType": "MedicationRequest", "status": "active", "intent": "order",
                "medicationCodeableConcept": {"coding": [{"system": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-medication",
                                                          "code": drug_code, "display": drug_name}]},
                "subject": {"reference": patient}, "encounter": {"reference": encounter}, "authoredOn": when,
                "dosageInstruction": [{"text": "1일 1회 1정"}],
            })
            if r.random() < 0.5:
                procedure_code, procedure_name = r.choice(PROCEDURES)
                add({
                    "resourceType": "Procedure", "status": "completed",
                    "code": {"coding": [{"system": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-procedure",
                                         "code": procedure_code, "display": procedure_name}]},
                    "subject": {"reference": patient}, "encounter": {"reference": encounter}, "performedDateTime": when,
                })
        return entries


def bundles(patients: int, seed: int, stable_ids: bool, per_bundle: int, visits: int = 0, first_patient: int = 0):
    """Yield transaction Bundles of ``per_bundle`` patients each (patients ``first_patient`` to ``patients - 1``)."""
    factory = PatientFactory(seed if not first_patient else seed * 1_000_003 + first_patient, stable_ids, visits)
    for first in range(first_patient, patients, per_bundle):
        entries = []
        for number in range(first, min(first + per_bundle, patients)):
            entries.extend(factory.patient_entries(number))
        yield {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ids", choices=("stable", "server"), default="server")
    parser.add_argument("--per-bundle", type=int, default=10, help="patients per Bundle file")
    parser.add_argument("--visits", type=int, default=0,
                        help="average visits per patient (about 8.5 resources each); 0: 2 to 5 visits")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for index, bundle in enumerate(bundles(args.patients, args.seed, args.ids == "stable", args.per_bundle,
                                                    args.visits)):
        (args.out / f"bundle-{index:05d}.json").write_text(json.dumps(bundle, ensure_ascii=False))
        total += len(bundle["entry"])
    print(f"wrote {total} resources for {args.patients} patients to {args.out}")


if __name__ == "__main__":
    main()
