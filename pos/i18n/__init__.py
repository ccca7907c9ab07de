"""The one translation layer. zh-CN first, en second.

Each module in this package defines `MESSAGES = {"key": ("中文", "English"), ...}`; they are merged
here, so each feature keeps its strings beside the others without editing a shared file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

_CATALOG: dict[str, tuple[str, str]] = {}


def _entries() -> dict[str, tuple[str, str]]:
    """Every key's (zh, en), merged from the modules here on first use."""
    if not _CATALOG:
        for info in pkgutil.iter_modules(__path__):
            module = importlib.import_module(f"{__name__}.{info.name}")
            for key, pair in module.MESSAGES.items():
                if key in _CATALOG:
                    raise RuntimeError(f"translation key {key!r} defined twice")
                _CATALOG[key] = pair
    return _CATALOG


def translate(key: str, lang: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    pair = _entries().get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "en" else pair[0]
    return text.format(**params) if params else text


def has(key: str) -> bool:
    return key in _entries()


def catalog(lang: str) -> dict[str, str]:
    """Every string in one language, for the tablet pages' JavaScript."""
    index = 1 if lang == "en" else 0
    return {key: pair[index] for key, pair in _entries().items()}


def negotiate(accept_language: str | None, preferred: str | None = None) -> str:
    """The user's remembered choice wins; then Accept-Language; zh-CN when nothing says otherwise."""
    if preferred in LANGUAGES:
        return preferred
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT_LANGUAGE
