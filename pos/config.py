"""Configuration from CREDITMART_* environment variables, validated once at startup."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": "sqlite:///instance/creditmart.db",
    "SECRET_KEY": None,
    "PRINTER": "dummy://",
    "PAPER_WIDTH": 58,
    "TOKEN_TTL_SECONDS": 8 * 3600,  # one counter shift
    "TIMEZONE": "Asia/Shanghai",
    "PROXY_HOPS": 0,  # reverse proxies in front that set X-Forwarded-For/-Proto (0: trust no such header)
    "CHECKPOINT_HOURS": 24,  # `creditmart serve` signs a checkpoint when the last is this old (0: never)
    "DEMO": False,
    "TESTING": False,
}

_INT_KEYS = {"PAPER_WIDTH", "TOKEN_TTL_SECONDS", "PROXY_HOPS", "CHECKPOINT_HOURS"}
_BOOL_KEYS = {"DEMO", "TESTING"}


class ConfigError(RuntimeError):
    """The configuration cannot work; raised at startup with a message an operator can act on."""


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = environ.get(f"CREDITMART_{key}")
        if raw is None or raw == "":
            continue
        if key in _INT_KEYS:
            try:
                config[key] = int(raw)
            except ValueError:
                raise ConfigError(f"CREDITMART_{key} must be a whole number, got {raw!r}") from None
        elif key in _BOOL_KEYS:
            config[key] = raw.lower() in ("1", "true", "yes", "on")
        else:
            config[key] = raw
    return config


def database_url() -> str:
    """CREDITMART_DATABASE_URL, or the default SQLite file: for commands that reach the database without an app."""
    return from_environment().get("DATABASE_URL") or DEFAULTS["DATABASE_URL"]


def resolve(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Defaults, then the environment, then explicit overrides (tests, the demo); then validate."""
    config = dict(DEFAULTS)
    config.update(from_environment())
    config.update(overrides or {})
    validate(config)
    return config


def validate(config: Mapping[str, Any]) -> None:
    secret = config.get("SECRET_KEY")
    if not secret and not (config.get("DEMO") or config.get("TESTING")):
        raise ConfigError(
            "CREDITMART_SECRET_KEY is not set. It signs every login token; set it to a long random value, "
            'for example: export CREDITMART_SECRET_KEY="$(python3 -c "import secrets; print(secrets.token_hex(32))")"'
        )
    if secret and len(secret) < 32 and not (config.get("DEMO") or config.get("TESTING")):
        raise ConfigError("CREDITMART_SECRET_KEY is too short: use at least 32 characters")
    if config.get("PAPER_WIDTH") not in (58, 80):
        raise ConfigError(f"CREDITMART_PAPER_WIDTH must be 58 or 80, got {config.get('PAPER_WIDTH')!r}")
    if int(config.get("TOKEN_TTL_SECONDS", 0)) <= 0:
        raise ConfigError("CREDITMART_TOKEN_TTL_SECONDS must be positive")
    if not 0 <= int(config.get("PROXY_HOPS", 0)) <= 5:
        raise ConfigError("CREDITMART_PROXY_HOPS must be 0 (no proxy) to 5")
    if int(config.get("CHECKPOINT_HOURS", 0)) < 0:
        raise ConfigError("CREDITMART_CHECKPOINT_HOURS must be 0 (never) or a number of hours")
    if not str(config.get("DATABASE_URL", "")).startswith(("sqlite", "postgresql")):
        raise ConfigError("CREDITMART_DATABASE_URL must be a sqlite:/// or postgresql:// URL")
