"""Text rules shared by every package: scanner input normalisation and display width."""

from __future__ import annotations

import unicodedata


def normalise_scan(raw: str) -> str:
    """What a keyboard-wedge scanner or a Chinese input method typed, made canonical.

    NFKC turns full-width digits (０-９) into ASCII; the scanner's Enter and surrounding spaces go.
    """
    return unicodedata.normalize("NFKC", raw).strip()


def display_width(text: str) -> int:
    """Columns on a terminal or a thermal printer: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
