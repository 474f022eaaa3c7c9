"""A synthetic Korean hospital's EMR export, as the `korean-hospital` mapping spec reads it, and the genome
files of its sequenced patients.

CP949-encoded CSV files with Korean headers, the way Korean hospital systems still write them: patients
(등록번호, 성명, 성별 남/여, 생년월일 YYYYMMDD), visits (외래/입원/응급, HIRA department codes), KCD
diagnoses with 주/부 flags and the spellings EMRs really hold (`C509`, `c50.9`, `C50.9-`), lab results
with reference ranges (`<0.1`, `음성`), HIRA-coded prescriptions and procedures, and allergies. Common
conditions, cancers and rare diseases come in rough Korean proportions. Most patients with a cancer or a rare
disease were sequenced: ``genomes/`` holds one annotated VCF per sample (GRCh38) with variants of genes that
go with their diagnosis, and ``genomes/samples.csv`` links samples to registration numbers. The variants are
illustrative, not a clinical claim about any position.

The same seed always gives the same files.
"""

from __future__ import annotations

import csv
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable

FAMILY = ["김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권"]
GIVEN = ["민준", "서연", "도윤", "지우", "하준", "서윤", "지호", "하은", "준우", "지민", "영수", "영희", "철수", "순자"]
ADDRESSES = [("서울특별시 종로구 대학로 101", "03080"), ("부산광역시 서구 구덕로 179", "49241"),
             ("대구광역시 중구 동덕로 130", "41944"), ("인천광역시 남동구 남동대로 774", "21565"),
             ("광주광역시 동구 제봉로 42", "61469"), ("경기도 성남시 분당구 구미로 173", "13620")]
# (KCD code, name, weight, kind): common conditions, cancers and rare diseases.
DIAGNOSES = [
    ("I10", "본태성(원발성) 고혈압", 30, "common"), ("E11.9", "합병증을 동반하지 않은 2형 당뇨병", 25, "common"),
    ("J45.9", "상세불명의 천식", 8, "common"), ("K21.9", "식도염을 동반하지 않은 위-식도역류병", 12, "common"),
    ("M17.9", "상세불명의 무릎관절증", 8, "common"), ("E78.5", "상세불명의 고지질혈증", 12, "common"),
    ("C50.9", "상세불명의 유방의 악성 신생물", 4, "cancer"), ("C16.9", "상세불명의 위의 악성 신생물", 4, "cancer"),
    ("C34.9", "상세불명의 기관지 또는 폐의 악성 신생물", 3, "cancer"), ("C73", "갑상선의 악성 신생물", 4, "cancer"),
    ("C18.7", "구불결장의 악성 신생물", 2, "cancer"), ("C22.0", "간세포암종", 2, "cancer"),
    ("D05.1", "관내상피내암종", 1, "cancer"),
    ("E75.2", "기타 스핑고지질증", 1, "rare"), ("G71.0", "근디스트로피", 1, "rare"),
    ("G12.2", "운동신경세포병", 1, "rare"), ("Q87.4", "마르팡증후군", 1, "rare"),
    ("E84.9", "상세불명의 낭성섬유증", 1, "rare"),
]
# (local code, LOINC, name, unit, low, high, reference low, reference high, decimals)
LABS = [
    ("L2001", "4548-4", "당화혈색소", "%", 4.5, 9.5, 4.0, 6.0, 1),
    ("L2002", "2345-7", "공복혈당", "mg/dL", 70, 220, 70, 100, 0),
    ("L3001", "718-7", "혈색소", "g/dL", 9.0, 17.0, 12.0, 16.0, 1),
    ("L3002", "2160-0", "크레아티닌", "mg/dL", 0.5, 1.8, 0.6, 1.2, 2),
    ("L4001", "1988-5", "C-반응단백", "mg/dL", 0.0, 3.0, 0.0, 0.5, 1),
]
QUALITATIVE = ("L5001", "5196-1", "B형간염표면항원", ("음성", "음성", "음성", "양성"))
DRUGS = [("643302330", "메트포르민염산염정 500mg", "정"), ("641901830", "암로디핀베실산염정 5mg", "정"),
         ("645403650", "아토르바스타틴칼슘정 10mg", "정"), ("655502140", "타목시펜시트르산염정 20mg", "정"),
         ("670600070", "살부타몰황산염흡입제", "회")]
PROCEDURES = [("B1010", "일반혈액검사"), ("HA411", "단순흉부촬영"), ("E7611", "위내시경검사"),
              ("Q2671", "유방절제술"), ("M0111", "주사")]
DEPARTMENTS = [("01", "내과"), ("04", "외과"), ("13", "가정의학과"), ("02", "신경과"), ("11", "소아청소년과")]
ALLERGENS = [("DRUG-PCN", "페니실린", "약물", "두드러기"), ("DRUG-ASA", "아스피린", "약물", "호흡곤란"),
             ("FOOD-SHF", "갑각류", "음식", "두드러기"), ("ENV-DUST", "집먼지진드기", "환경", "재채기")]
SEVERITY = ["경증", "중등증", "중증"]
# (gene, chromosome, position, ref, alt, dbSNP, HGVS c., HGVS p.), by the diagnoses they go with.
VARIANTS = {
    "BRCA1": ("chr17", 43106478, "AG", "A", "rs80357713", "c.68_69del", "p.Glu23ValfsTer17"),
    "BRCA2": ("chr13", 32340300, "GT", "G", ".", "c.5946del", "p.Ser1982ArgfsTer22"),
    "TP53": ("chr17", 7675088, "C", "T", ".", "c.524G>A", "p.Arg175His"),
    "KRAS": ("chr12", 25245350, "C", "A", ".", "c.35G>T", "p.Gly12Val"),
    "EGFR": ("chr7", 55191822, "T", "G", ".", "c.2573T>G", "p.Leu858Arg"),
    "APC": ("chr5", 112838934, "C", "T", ".", "c.4348C>T", "p.Arg1450Ter"),
    "BRAF": ("chr7", 140753336, "A", "T", ".", "c.1799T>A", "p.Val600Glu"),
    "GLA": ("chrX", 101398785, "T", "C", ".", "c.644A>G", "p.Asn215Ser"),
    "DMD": ("chrX", 31819974, "G", "A", ".", "c.10108C>T", "p.Arg3370Ter"),
    "FBN1": ("chr15", 48487323, "G", "A", ".", "c.3037G>A", "p.Gly1013Arg"),
    "CFTR": ("chr7", 117559590, "ATCT", "A", "rs113993960", "c.1521_1523del", "p.Phe508del"),
    "SOD1": ("chr21", 31667331, "T", "G", ".", "c.272A>C", "p.Asp91Ala"),
}
GENES = {"C50": ("BRCA1", "BRCA2", "TP53"), "C16": ("TP53", "KRAS"), "C34": ("EGFR", "KRAS", "TP53"),
         "C73": ("BRAF",), "C18": ("APC", "KRAS"), "C22": ("TP53",), "D05": ("BRCA2",), "E75": ("GLA",),
         "G71": ("DMD",), "G12": ("SOD1",), "Q87": ("FBN1",), "E84": ("CFTR",)}
SEQUENCED = 0.6  # share of patients with a cancer or rare disease who have a genome file

HEADERS = {
    "patients.csv": ["등록번호", "성명", "성별", "생년월일", "사망일자", "주소", "우편번호", "전화번호"],
    "visits.csv": ["내원번호", "등록번호", "내원구분", "진료과", "진료과명", "내원일시", "퇴원일시"],
    "diagnoses.csv": ["등록번호", "내원번호", "진단코드", "진단명", "주부구분", "진단일자"],
    "labs.csv": ["등록번호", "내원번호", "검사코드", "LOINC", "검사명", "결과", "단위", "참고치하한", "참고치상한",
                 "판정", "채취일시"],
    "prescriptions.csv": ["등록번호", "내원번호", "처방일자", "약품코드", "약품명", "1회투여량", "투여단위",
                          "1일투여횟수", "총투여일수"],
    "procedures.csv": ["등록번호", "내원번호", "수가코드", "처치명", "시행일시"],
    "allergies.csv": ["등록번호", "알레르기코드", "원인물질", "알레르기구분", "반응", "중증도", "등록일자"],
}


def spelling(code: str, r: random.Random) -> str:
    """How an EMR may have stored a KCD code: mostly clean, sometimes without the dot, in lower case, with
    a filler or surrounding spaces."""
    roll = r.random()
    if roll < 0.70:
        return code
    if roll < 0.85:
        return code.replace(".", "")
    if roll < 0.92:
        return code.lower()
    return code + "-" if roll < 0.96 else f" {code} "


def rows(patients: int, seed: int):
    """(file name, row) for every row of the export, patient by patient."""
    r = random.Random(seed)
    for number in range(patients):
        registration = f"{seed % 100:02d}{number + 1:06d}"
        birth = date(1940, 1, 1) + timedelta(days=r.randrange(365 * 80))
        address, postal = r.choice(ADDRESSES)
        died = r.random() < 0.03
        first_visit = datetime(2016, 1, 1, 9) + timedelta(days=r.randrange(365 * 8), minutes=10 * r.randrange(48))
        death = (first_visit + timedelta(days=r.randrange(400, 900))).strftime("%Y%m%d") if died else ""
        name = r.choice(FAMILY) + r.choice(GIVEN)
        sex = r.choice(["남", "여"])
        yield "patients.csv", [registration, name, sex,
                               birth.strftime("%Y%m%d"), death, address, postal,
                               f"010-{r.randrange(1000, 9999)}-{r.randrange(1000, 9999)}"]
        diagnoses = r.choices(DIAGNOSES, weights=[weight for _, _, weight, _ in DIAGNOSES], k=r.randint(1, 3))
        diagnoses = list({code: (code, name, weight, kind) for code, name, weight, kind in diagnoses}.values())
        for visit in range(r.randint(2, 6)):
            visit_number = f"{registration}-{visit + 1:03d}"
            moment = first_visit + timedelta(days=visit * r.randint(20, 90), minutes=10 * r.randrange(30))
            kind = r.choices(["외래", "입원", "응급"], weights=[85, 10, 5])[0]
            leaving = moment + (timedelta(days=r.randint(2, 10)) if kind == "입원" else timedelta(minutes=20))
            department = r.choice(DEPARTMENTS)
            stamp = moment.strftime("%Y-%m-%d %H:%M")
            yield "visits.csv", [visit_number, registration, kind, *department, stamp, leaving.strftime("%Y-%m-%d %H:%M")]
            if visit == 0:
                for index, (code, name, _, _) in enumerate(diagnoses):
                    yield "diagnoses.csv", [registration, visit_number, spelling(code, r), name,
                                            "주" if index == 0 else "부", moment.strftime("%Y%m%d")]
            for local, loinc, name, unit, low, high, ref_low, ref_high, decimals in r.sample(LABS, 3):
                value = round(r.uniform(low, high), decimals)
                text = (f"{value:.{decimals}f}" if decimals else str(int(value)))
                if loinc == "1988-5" and value < 0.1:
                    text = "<0.1"  # under the detection limit
                flag = "H" if value > ref_high else "L" if value < ref_low else ""
                yield "labs.csv", [registration, visit_number, local, loinc, name, text, unit, str(ref_low),
                                   str(ref_high), flag, stamp]
            if visit == 0 and r.random() < 0.5:
                local, loinc, name, results = QUALITATIVE
                yield "labs.csv", [registration, visit_number, local, loinc, name, r.choice(results), "", "", "",
                                   "", stamp]
            drug, drug_name, unit = r.choice(DRUGS)
            yield "prescriptions.csv", [registration, visit_number, moment.strftime("%Y%m%d"), drug, drug_name,
                                        r.choice(["1", "0.5", "2"]), unit, str(r.randint(1, 3)), str(r.choice([7, 14, 28, 30, 90]))]
            if r.random() < 0.4:
                code, name = r.choice(PROCEDURES)
                yield "procedures.csv", [registration, visit_number, code, name, stamp]
        if r.random() < 0.15:
            code, substance, category, reaction = r.choice(ALLERGENS)
            yield "allergies.csv", [registration, code, substance, category, reaction, r.choice(SEVERITY),
                                    first_visit.strftime("%Y%m%d")]
        genes = sorted({gene for code, *_ in diagnoses for gene in GENES.get(code[:3], ())})
        # Its own stream, so adding genomes left every other row of a seed as it was.
        genome = random.Random(f"{seed}-{registration}")
        if genes and genome.random() < SEQUENCED:
            for gene in genome.sample(genes, min(len(genes), genome.randint(1, 2))):
                yield "genomes", [registration, gene, sex]


def write(patients: int, seed: int, out: Path, encoding: str = "cp949") -> dict[str, int]:
    """Write the export into ``out``; rows (or variant calls) written per file."""
    out.mkdir(parents=True, exist_ok=True)
    handles = {name: (out / name).open("w", encoding=encoding, newline="") for name in HEADERS}
    writers = {name: csv.writer(handle, lineterminator="\r\n") for name, handle in handles.items()}
    counts = dict.fromkeys(HEADERS, 0)
    sequenced: dict[str, list[tuple[str, str]]] = {}  # registration -> (gene, sex)
    try:
        for name, header in HEADERS.items():
            writers[name].writerow(header)
        for name, row in rows(patients, seed):
            if name == "genomes":
                sequenced.setdefault(row[0], []).append((row[1], row[2]))
                continue
            writers[name].writerow(row)
            counts[name] += 1
    finally:
        for handle in handles.values():
            handle.close()
    counts["genomes"] = write_genomes(sequenced, out / "genomes")
    return counts


def write_kcd(out: Path, english: Callable[[str], str | None]) -> int:
    """The KCD codes this hospital uses with their Korean names, and ``english(code)``'s names, as the code list
    `fhir-server load-terminology kcd` takes. KCD itself is not shipped (Statistics Korea licenses it); this
    stand-in lets the demo's terminology search find Korean names. The codes written."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "kcd.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(["코드", "한글명", "영문명"])
        for code, korean, _, _ in DIAGNOSES:
            writer.writerow([code, korean, english(code) or ""])
    return len(DIAGNOSES)


def write_genomes(sequenced: dict[str, list[tuple[str, str]]], folder: Path) -> int:
    """One VCF per sequenced patient (sample `S{registration}`) and the sample table; the variant calls written."""
    if not sequenced:
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    calls = 0
    with (folder / "samples.csv").open("w", encoding="utf-8", newline="") as table:
        table.write("sample,patient\r\n")
        for registration, found in sequenced.items():
            sample = f"S{registration}"
            table.write(f"{sample},{REGISTRATION_SYSTEM}|{registration}\r\n")
            lines = [_VCF_HEADER + f"\t{sample}"]
            for gene, sex in sorted(found, key=lambda item: (VARIANTS[item[0]][0], VARIANTS[item[0]][1])):
                chromosome, position, ref, alt, dbsnp, coding, protein = VARIANTS[gene]
                genotype = "1" if chromosome == "chrX" and sex == "남" else "0/1"
                depth = 40 + len(lines) * 7
                annotation = f"{alt}|missense_variant|MODERATE|{gene}|{gene}|transcript|.|protein_coding|1/1|" \
                             f"{coding}|{protein}"
                lines.append(f"{chromosome}\t{position}\t{dbsnp}\t{ref}\t{alt}\t99\tPASS\tDP={depth};ANN={annotation}"
                             f"\tGT:DP:AD\t{genotype}:{depth}:{depth // 2},{depth - depth // 2}")
                calls += 1
            (folder / f"{sample}.vcf").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return calls


REGISTRATION_SYSTEM = "http://hospital.example.kr/registration-number"  # as the korean-hospital spec names it
_VCF_HEADER = "\n".join([
    "##fileformat=VCFv4.2",
    "##reference=GRCh38",
    '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">',
    "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: 'Allele | Annotation | "
    "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | "
    "HGVS.p'\">",
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
    '##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Read depth">',
    '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT",
])
