"""Special-copayment registration codes: the cancer rule and the supplied rare-disease list."""

from terminology.systems import copayment


def test_cancer_rule_covers_malignant_in_situ_and_the_listed_d_ranges(terminology):
    rule = terminology.copayment
    for code in ("C00", "C50.9", "C97", "D00.0", "D09.9", "D32.0", "D33.4", "D37.0", "D48.9"):
        assert "V193" in rule.codes_for(code), code
    for code in ("D10.0", "D31.9", "D34", "D36.9", "D49", "B99", "E11.9"):
        assert "V193" not in rule.codes_for(code), code


def test_rare_list_rows_map_kcd_codes_to_v_codes_and_cover_subcodes():
    rare, names, rejected = copayment.parse_rare_list([
        ["특정기호", "상병코드", "질환명"], ["V123", "E75.2", "파브리병"], ["V999x", "E75.2", "잘못"], ["V124", "??", "잘못"]])
    assert rare == {"E75.2": {"V123"}} and names == {"V123": "파브리병"}
    assert rejected == ["line 3: `V999X` is not a V-code", "line 4: `??` is not a KCD code"]
    rule = copayment.Copayment([], rare, names)
    assert rule.codes_for("E75.21") == {"V123"} and rule.codes_for("E75.3") == set()
