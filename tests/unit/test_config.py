from __future__ import annotations

import pytest

from pos import config, create_app
from pos.config import ConfigError


def test_missing_secret_outside_demo_and_tests_is_a_clear_startup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDITMART_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="CREDITMART_SECRET_KEY is not set"):
        create_app({"DATABASE_URL": "sqlite:///:memory:"})


def test_short_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="too short"):
        config.resolve({"SECRET_KEY": "short", "DATABASE_URL": "sqlite:///:memory:"})


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CREDITMART_PAPER_WIDTH", "wide", "whole number"),
        ("CREDITMART_PAPER_WIDTH", "70", "58 or 80"),
        ("CREDITMART_PROXY_HOPS", "9", "no proxy"),
        ("CREDITMART_CHECKPOINT_HOURS", "-1", "never"),
        ("CREDITMART_TOKEN_TTL_SECONDS", "0", "positive"),
        ("CREDITMART_DATABASE_URL", "mysql://x", "sqlite:/// or postgresql://"),
    ],
)
def test_bad_environment_values_are_named(monkeypatch: pytest.MonkeyPatch, variable: str, value: str,
                                          message: str) -> None:
    monkeypatch.setenv("CREDITMART_SECRET_KEY", "x" * 40)
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=message):
        config.resolve()


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDITMART_SECRET_KEY", "y" * 40)
    monkeypatch.setenv("CREDITMART_PAPER_WIDTH", "80")
    monkeypatch.setenv("CREDITMART_PRINTER", "tcp://127.0.0.1:9100")
    resolved = config.resolve()
    assert resolved["PAPER_WIDTH"] == 80
    assert resolved["PRINTER"] == "tcp://127.0.0.1:9100"
    assert resolved["SECRET_KEY"] == "y" * 40
