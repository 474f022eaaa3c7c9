"""The README starts with the two commands a new user needs, and they exist in the Makefile."""

from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_readme_opens_with_make_run_and_make_test():
    lines = [line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("make ")]
    assert [line.split()[:2] for line in lines[:2]] == [["make", "run"], ["make", "test"]]


def test_makefile_has_both_targets_and_ci_runs_make_test():
    makefile = (ROOT / "Makefile").read_text()
    assert "\nrun:" in makefile and "\ntest:" in makefile
    assert "make test" in (ROOT / ".ci" / "run").read_text()
