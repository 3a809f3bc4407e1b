"""Settings that refuse to run production on defaults anyone can read in this repository."""

import pytest
from pydantic import ValidationError

from backend.config import Settings

OWN_SECRET = "own-secret-42"  # noqa: S105 — a test value (short: an echoed input would show it whole)


@pytest.fixture(autouse=True)
def _no_outside_settings(monkeypatch):
    """Only what each test passes counts: not the run's own environment, not a .env file."""
    for name in ("LUOSHI_ENVIRONMENT", "LUOSHI_SECRET_KEY", "LUOSHI_APP_DB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def settings(**values) -> Settings:
    return Settings(_env_file=None, **values)


def test_production_on_defaults_is_refused_naming_every_setting_to_set():
    with pytest.raises(ValidationError) as refused:
        settings(environment="production")
    message = str(refused.value)
    assert "LUOSHI_SECRET_KEY" in message and "LUOSHI_APP_DB_PASSWORD" in message


def test_production_with_its_own_secret_still_refuses_the_default_database_password():
    with pytest.raises(ValidationError) as refused:
        settings(environment="production", secret_key=OWN_SECRET)
    assert "LUOSHI_APP_DB_PASSWORD" in str(refused.value) and "LUOSHI_SECRET_KEY" not in str(refused.value)
    assert OWN_SECRET not in str(refused.value)  # the error is logged: it names settings, never their values


def test_production_with_its_own_secrets_starts():
    assert settings(environment="production", secret_key=OWN_SECRET, app_db_password="a-password-of-its-own"
                    ).environment == "production"


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_and_tests_run_on_the_defaults(environment):
    assert settings(environment=environment).environment == environment


@pytest.mark.parametrize("environment", ["Production", "prod", "bench", ""])
def test_an_environment_not_known_is_refused_rather_than_taken_for_development(environment):
    with pytest.raises(ValidationError):
        settings(environment=environment)
