"""Settings: declared once with help, overridable by FHIR_SERVER_* variables, all documented."""

from pathlib import Path

import pytest

from fhir_server.settings import Settings, describe


def test_environment_overrides_defaults():
    settings = Settings.from_env({"FHIR_SERVER_DATABASE_URL": "sqlite:///x.db", "FHIR_SERVER_PORT": "9000"})
    assert settings.database_url == "sqlite:///x.db" and settings.port == 9000


def test_keyword_overrides_win_over_environment():
    assert Settings.from_env({"FHIR_SERVER_PORT": "9000"}, port=9100).port == 9100


def test_a_bad_number_is_a_clear_error():
    with pytest.raises(ValueError, match="FHIR_SERVER_PORT"):
        Settings.from_env({"FHIR_SERVER_PORT": "eighty"})


def test_every_setting_has_help_and_is_in_the_readme():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for variable, _, help_text in describe():
        assert help_text.strip()
        assert variable in readme, f"{variable} is not documented in README.md"
