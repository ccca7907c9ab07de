from __future__ import annotations

import pytest

from core.text import display_width, normalise_scan


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("６９２０２４４４１８５２９", "6920244418529"), (" 6920244418529\r\n", "6920244418529"), ("", ""),
     ("\t１２３ ", "123")],
)
def test_normalise_scan(raw: str, expected: str) -> None:
    assert normalise_scan(raw) == expected


@pytest.mark.parametrize(("text", "width"), [("abc", 3), ("大米", 4), ("大豆油 5L", 9), ("，。：￥", 8), ("", 0)])
def test_display_width(text: str, width: int) -> None:
    assert display_width(text) == width
