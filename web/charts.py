"""Small SVG charts drawn on the server: no script, no external files, every label escaped.

Colours and sizes are SVG presentation attributes (not `style=`), which the page's
Content-Security-Policy allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

INK = "#1f2328"
MUTED = "#5f6b76"
BAR = "#2f5d8a"
GRID = "#d9dee3"


def _svg(width: int, height: int, label: str, body: Markup) -> Markup:
    return (
        Markup('<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" ')
        + Markup('viewBox="0 0 {w} {h}" width="{w}" height="{h}" aria-label="{label}">').format(
            w=width, h=height, label=label
        )
        + Markup("<title>{}</title>").format(label)
        + body
        + Markup("</svg>")
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 11) -> Markup:
    return Markup(
        '<text x="{:.1f}" y="{:.1f}" text-anchor="{}" font-size="{}" fill="{}">{}</text>'
    ).format(x, y, anchor, size, MUTED, escape(text))


def month_range(months: Sequence[str]) -> list[str]:
    """Every "YYYY-MM" from the earliest to the latest of `months`, gaps filled."""
    if not months:
        return []
    first, last = min(months), max(months)
    year, month = int(first[:4]), int(first[5:7])
    out = []
    while f"{year:04d}-{month:02d}" <= last:
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def monthly_points(monthly: dict[str, int], months: Sequence[str]) -> list[tuple[str, int]]:
    """(month, count) for every month of the range, zero where nothing was seen."""
    return [(month, monthly.get(month, 0)) for month in months]


def monthly_totals(
    trends: Sequence[dict[str, Any]], months: Sequence[str]
) -> list[tuple[str, int]]:
    """(month, rows) summed over some trends' monthly counts."""
    return [(month, sum(t["monthly"].get(month, 0) for t in trends)) for month in months]


def column_chart(
    points: Sequence[tuple[str, int]], label: str, *, width: int = 560, height: int = 200
) -> Markup:
    """Vertical bars, one per (label, count), with the first and last labels on the axis."""
    left, bottom, top = 32, 24, 12
    plot_w, plot_h = width - left - 8, height - bottom - top
    peak = max((n for _, n in points), default=0) or 1
    step = plot_w / max(len(points), 1)
    body = Markup('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}"/>').format(
        left, top + plot_h, left + plot_w, GRID
    )
    body += _text(left - 4, top + 4, str(peak), anchor="end")
    body += _text(left - 4, top + plot_h, "0", anchor="end")
    for i, (name, count) in enumerate(points):
        bar_h = plot_h * count / peak
        x = left + i * step + step * 0.15
        body += Markup(
            '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
            "<title>{}: {}</title></rect>"
        ).format(x, top + plot_h - bar_h, step * 0.7, bar_h, BAR, name, count)
        if len(points) <= 12 or i in (0, len(points) - 1):
            body += _text(x + step * 0.35, height - 8, name, anchor="middle", size=10)
    return _svg(width, height, label, body)


def bar_chart(points: Sequence[tuple[str, int]], label: str, *, width: int = 560) -> Markup:
    """Horizontal bars with their labels and counts, largest first as given."""
    row, label_w = 22, 200
    height = max(len(points), 1) * row + 8
    peak = max((n for _, n in points), default=0) or 1
    body = Markup()
    for i, (name, count) in enumerate(points):
        y = 4 + i * row
        bar_w = (width - label_w - 40) * count / peak
        short = name if len(name) <= 30 else name[:29] + "…"
        body += _text(label_w - 6, y + 14, short, anchor="end")
        body += Markup(
            '<rect x="{}" y="{}" width="{:.1f}" height="{}" fill="{}"><title>{}: {}</title></rect>'
        ).format(label_w, y + 3, bar_w, row - 8, BAR, name, count)
        body += _text(label_w + bar_w + 4, y + 14, str(count))
    return _svg(width, height, label, body)


def sparkline(monthly: dict[str, int], months: Sequence[str], label: str) -> Markup:
    """A tiny column chart of monthly counts over a shared range of months."""
    width, height = 120, 28
    peak = max(monthly.values(), default=0) or 1
    step = width / max(len(months), 1)
    body = Markup()
    for i, month in enumerate(months):
        count = monthly.get(month, 0)
        bar_h = max((height - 2) * count / peak, 1 if count else 0)
        body += Markup(
            '<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}">'
            "<title>{}: {}</title></rect>"
        ).format(i * step, height - bar_h, max(step - 1, 1), bar_h, BAR, month, count)
    return _svg(width, height, label, body)
