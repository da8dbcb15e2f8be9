"""Settings are built by a function, validated, and strict outside development; time is aware."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from doorstep.core.clock import FakeClock, SystemClock, require_aware
from doorstep.core.errors import ConfigurationError
from doorstep.core.settings import DEVELOPMENT_SECRET, Environment, LogFormat, load_settings


def test_environment_prefix_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORSTEP_PORT", "9123")
    monkeypatch.setenv("DOORSTEP_WORKER_CONCURRENCY", "7")
    settings = load_settings()
    assert settings.port == 9123
    assert settings.worker_concurrency == 7


def test_overrides_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORSTEP_PORT", "9123")
    assert load_settings(port=9000).port == 9000


def test_development_defaults() -> None:
    settings = load_settings(env="development")
    assert settings.uses_embedded_database
    assert settings.effective_log_format is LogFormat.CONSOLE


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ConfigurationError, match="DOORSTEP_SECRET_KEY"):
        load_settings(env="production", database_url="postgresql://h/db")


def test_production_refuses_a_short_secret() -> None:
    with pytest.raises(ConfigurationError, match="at least 32"):
        load_settings(env="production", database_url="postgresql://h/db", secret_key="x" * 31)


def test_production_requires_an_external_database() -> None:
    with pytest.raises(ConfigurationError, match="DOORSTEP_DATABASE_URL"):
        load_settings(env="production", secret_key="s" * 40)


def test_production_with_real_secret_logs_json() -> None:
    settings = load_settings(
        env="production", database_url="postgresql://h/db", secret_key="s" * 40
    )
    assert settings.env is Environment.PRODUCTION
    assert settings.effective_log_format is LogFormat.JSON
    assert settings.secret_key.get_secret_value() != DEVELOPMENT_SECRET


def test_invalid_setting_is_named_but_its_value_is_not(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOORSTEP_PORT", "not-a-port-4242")
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    assert "port" in caught.value.detail
    assert "not-a-port-4242" not in caught.value.detail


def test_secrets_do_not_show_in_repr() -> None:
    settings = load_settings(secret_key="k" * 40, database_url="postgresql://u:pw-xyz@h/db")
    assert "pw-xyz" not in repr(settings)
    assert "k" * 40 not in repr(settings)


def test_fake_clock_moves_only_when_told() -> None:
    clock = FakeClock(datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(timedelta(hours=1)) == datetime(2026, 3, 1, 13, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    clock.set(datetime(2025, 1, 1, tzinfo=UTC))
    assert clock.now().year == 2025


def test_clocks_hand_out_aware_utc_only() -> None:
    assert SystemClock().now().tzinfo is UTC
    with pytest.raises(ValueError, match="naive"):
        FakeClock(datetime(2026, 1, 1))
    shifted = require_aware(datetime(2026, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))
    assert shifted == datetime(2026, 1, 1, tzinfo=UTC)
    assert shifted.tzinfo is UTC
