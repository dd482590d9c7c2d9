from __future__ import annotations

from pathlib import Path

import pytest

from foi_core.settings import ENVIRONMENT_VARIABLES, Settings, SettingsError


def test_defaults_use_embedded_sqlite_under_state_dir(tmp_path: Path) -> None:
    settings = Settings.from_env({"FOI_STATE_DIR": str(tmp_path)})
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'foi.db'}"
    assert settings.broker_url == ""


def test_values_are_parsed_not_truthy() -> None:
    settings = Settings.from_env(
        {"FOI_OCR_ENABLED": "false", "FOI_SAMBA_PORT": "1445", "FOI_TIKA_TIMEOUT": "2.5"}
    )
    assert settings.ocr_enabled is False
    assert settings.samba_port == 1445
    assert settings.tika_timeout_s == 2.5


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FOI_OCR_ENABLED", "maybe", "FOI_OCR_ENABLED must be one of"),
        ("FOI_SAMBA_PORT", "44x", "whole number"),
        ("FOI_MAX_FILE_BYTES", "0", "at least 1"),
        ("FOI_TIKA_TIMEOUT", "-3", "positive"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})


def test_redacted_masks_secrets() -> None:
    settings = Settings.from_env(
        {"FOI_SECRET_KEY": "s3cret", "FOI_DATABASE_URL": "postgresql://u:pw@h/db"}
    )
    shown = settings.redacted()
    assert shown["secret_key"] == "***"
    assert "pw" not in shown["database_url"]


def test_readme_documents_every_environment_variable() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    missing = [name for name in ENVIRONMENT_VARIABLES if f"`{name}`" not in readme]
    assert not missing, f"README lacks: {missing}"


def test_to_env_round_trips(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "FOI_STATE_DIR": str(tmp_path),
            "FOI_OCR_ENABLED": "no",
            "FOI_CRAWL_WORKERS": "3",
            "FOI_TIKA_TIMEOUT": "7.5",
            "FOI_BROKER_URL": "redis://127.0.0.1:6380/2",
        }
    )
    assert Settings.from_env(settings.to_env()) == settings
