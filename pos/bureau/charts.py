"""Server-rendered SVG charts for the dashboard: no script, no CDN, every text escaped.

Each function returns a complete SVG document (UTF-8 text). Pages show them as images (`<img>` with a blob
URL), where an SVG can run nothing; the text in them is escaped all the same, because a shop's or a
category's name is typed by people.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif"
COLOURS = ("#2f6fb0", "#d9822b", "#3b9c5a", "#9b59b6")
INK, GRID, MUTED = "#1f2933", "#d5dbe1", "#52606d"


def _text(x: float, y: float, content: str, *, size: int = 12, anchor: str = "start", fill: str = INK,
          weight: str = "normal") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor={quoteattr(anchor)} fill="{fill}" '
            f'font-weight="{weight}">{escape(content)}</text>')


def _document(width: int, height: int, title: str, body: list[str]) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)} role="img">'
            f"<title>{escape(title)}</title>"
            f'<rect width="{width}" height="{height}" fill="#ffffff"/>' + "".join(body) + "</svg>")


GRID_LINES = 4  # a value axis is cut in four: each line must carry a whole, round number


def _axis_step(value: int) -> int:
    """The smallest round whole step (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × a power of ten) with which
    GRID_LINES steps reach `value`: 50 → 15 (0, 15, 30, 45, 60), never a 12 or a 37 on the axis."""
    wanted = max(1, value) / GRID_LINES
    magnitude = 1
    while True:
        for factor in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            step = factor * magnitude
            if step >= wanted and step == int(step):
                return int(step)
        magnitude *= 10


def grouped_bars(title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], *,
                 width: int = 760, height: int = 320) -> str:
    """Vertical bars: for each category (a month) one bar per series (issued, redeemed), with a legend."""
    left, right, top, bottom = 64, 16, 48, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    step = _axis_step(max([v for _, values in series for v in values] + [0]))
    top_value = step * GRID_LINES
    body = [_text(left, 22, title, size=15, weight="bold")]
    for i in range(GRID_LINES + 1):
        value = step * i
        y = top + plot_h - plot_h * i / GRID_LINES
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, f"{value:,}", size=11, anchor="end", fill=MUTED))
    n = max(1, len(categories))
    slot = plot_w / n
    bar = max(2.0, min(28.0, slot * 0.8 / max(1, len(series))))
    for i, category in enumerate(categories):
        x0 = left + i * slot + (slot - bar * len(series)) / 2
        for j, (name, values) in enumerate(series):
            value = values[i] if i < len(values) else 0
            h = plot_h * max(0, value) / top_value
            body.append(f'<rect x="{x0 + j * bar:.1f}" y="{top + plot_h - h:.1f}" width="{bar - 1:.1f}" '
                        f'height="{h:.1f}" fill="{COLOURS[j % len(COLOURS)]}">'
                        f"<title>{escape(f'{category} {name}: {value:,}')}</title></rect>")
        if n <= 12 or i % max(1, n // 12) == 0:
            body.append(_text(left + i * slot + slot / 2, height - bottom + 16, category, size=11, anchor="middle",
                              fill=MUTED))
    x = width - right
    for j, (name, _) in enumerate(reversed(series)):
        index = len(series) - 1 - j
        x -= 12 + 7 * len(name) + 30
        body.append(f'<rect x="{x:.1f}" y="12" width="12" height="12" fill="{COLOURS[index % len(COLOURS)]}"/>')
        body.append(_text(x + 16, 22, name, size=12))
    return _document(width, height, title, body)


def horizontal_bars(title: str, rows: Sequence[tuple[str, int]], *, width: int = 760, unit: str = "") -> str:
    """One horizontal bar per row (label, value), largest first as given."""
    label_w, right, top, row_h = 180, 90, 40, 26
    height = top + row_h * max(1, len(rows)) + 16
    plot_w = width - label_w - right
    top_value = max([v for _, v in rows] + [1])
    body = [_text(12, 24, title, size=15, weight="bold")]
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = plot_w * max(0, value) / top_value
        shown = label if len(label) <= 14 else label[:13] + "…"
        body.append(_text(label_w - 8, y + 16, shown, size=12, anchor="end"))
        body.append(f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 8}" fill="{COLOURS[0]}">'
                    f"<title>{escape(f'{label}: {value:,}{unit}')}</title></rect>")
        body.append(_text(label_w + w + 6, y + 16, f"{value:,}{unit}", size=11, fill=MUTED))
    if not rows:
        body.append(_text(label_w, top + 16, "—", size=12, fill=MUTED))
    return _document(width, height, title, body)
