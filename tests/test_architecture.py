"""The layer rules of ARCHITECTURE.md hold: checked by import-linter's contracts in pyproject.toml."""

import shutil
import subprocess
import sys
from pathlib import Path


def test_import_contracts_hold():
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([lint_imports], cwd=Path(__file__).parent.parent, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_reads_the_environment_but_settings():
    root = Path(__file__).parent.parent / "fhir_server"
    offenders = [str(path) for path in root.rglob("*.py")
                 if path.name != "settings.py" and "os.environ" in path.read_text()]
    assert offenders == []


def test_no_benchmark_shadows_a_package_of_the_project():
    """Python puts a script's own folder first on sys.path: bench/mappers.py made `import mappers` load it."""
    root = Path(__file__).parent.parent
    packages = {path.parent.name for path in root.glob("*/__init__.py")}
    assert packages >= {"fhir_server", "mappers", "terminology", "population"}
    assert sorted(path.stem for path in (root / "bench").glob("*.py") if path.stem in packages) == []
