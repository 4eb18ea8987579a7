"""The checkpoint series chart: held-out and training perplexity by step with their
intervals, the best checkpoint marked and the overfitting step flagged. An inline SVG like
``analysis.svg``'s (no JavaScript, no fonts, every label escaped)."""

from __future__ import annotations

import math
from html import escape

from sidebyside.analysis.svg import BLUE, GREY, RED

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 60, 20, 30, 50

Line = list[tuple[float | None, float | None, float | None]]  # (value, low, high) per step
#: A source's win rate vs the base per step; None where the step has no figure.
RateLine = list[tuple[float, float | None, float | None] | None]
PANEL = 200  # height of the win-rate panel under the perplexity one
#: One colour per win-rate source (humans first, then the judges), cycled.
SOURCE_COLOURS = ("#2e7d32", "#8e44ad", "#d35400", "#16a085", "#7f8c8d")


def series_chart(
    steps: list[str],
    held_out: Line,
    train: Line,
    *,
    best: str | None,
    overfit: str | None,
    win_rates: dict[str, RateLine] | None = None,
    base: str | None = None,
) -> str:
    """Perplexity (log scale) by checkpoint: held-out in blue, training in grey, whiskers for
    the intervals; the best step ringed, the overfitting step a red dashed line. With
    ``win_rates`` (source ─► per step), a second panel below: each source's win rate of the
    checkpoint against ``base`` with its interval, 50% dashed; "no pairs" where none.

    >>> svg = series_chart(["s<1>", "s2"], [(5, 4, 6), (7, 6, 8)], [(5, 4, 6), (3, 2, 4)],
    ...                    best="s<1>", overfit="s2")
    >>> svg.startswith("<svg") and "s&lt;1&gt;" in svg and "overfitting from s2" in svg
    True
    >>> line = [(5, 4, 6), (7, 6, 8), (6, 5, 7)]
    >>> svg = series_chart(["b", "s2", "s3"], line, line, best="b", overfit=None,
    ...                    win_rates={"human": [None, (0.7, 0.5, 0.9), None]}, base="b")
    >>> "Win rate vs b" in svg and "no pairs" in svg and 'height="500"' in svg
    True
    """
    panel = PANEL if win_rates else 0
    values = [v for line in (held_out, train) for t in line for v in t if v and v > 0]
    values = [v for v in values if math.isfinite(v)]
    lo, hi = (math.log(min(values)), math.log(max(values))) if values else (0.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM, TOP

    def x(i: int) -> float:
        return x0 + (x1 - x0) * (i + 0.5) / max(len(steps), 1)

    def y(v: float) -> float:
        return y0 + (math.log(v) - lo) / (hi - lo) * (y1 - y0)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT + panel}" '
        f'role="img" aria-label="perplexity by checkpoint" font-family="sans-serif" '
        f'font-size="11">',
        f'<text x="{x0}" y="16">Perplexity by checkpoint (log scale): '
        f'<tspan fill="{BLUE}">held-out</tspan>, <tspan fill="{GREY}">training</tspan></text>',
        f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#ccc"/>',
    ]
    for v in (math.exp(lo), math.exp((lo + hi) / 2), math.exp(hi)):
        parts.append(f'<text x="{x0 - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.3g}</text>')
    for i, step in enumerate(steps):
        parts.append(
            f'<text x="{x(i):.1f}" y="{y0 + 16}" text-anchor="middle">{escape(step)}</text>'
        )
        if step == overfit:
            parts.append(
                f'<line x1="{x(i):.1f}" y1="{y1}" x2="{x(i):.1f}" y2="{y0}" stroke="{RED}" '
                f'stroke-dasharray="4 3"/><text x="{x(i) + 4:.1f}" y="{y1 + 10}" '
                f'fill="{RED}">overfitting from {escape(step)}</text>'
            )
    for line, colour in ((train, GREY), (held_out, BLUE)):
        points = []
        for i, (v, low, high) in enumerate(line):
            if not v or not math.isfinite(v) or v <= 0:
                continue
            points.append(f"{x(i):.1f},{y(v):.1f}")
            if low and high and low > 0 and math.isfinite(high):
                parts.append(
                    f'<line x1="{x(i):.1f}" y1="{y(low):.1f}" x2="{x(i):.1f}" '
                    f'y2="{y(high):.1f}" stroke="{colour}"/>'
                )
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
            if colour == BLUE and steps[i] == best:
                parts.append(
                    f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="7" fill="none" '
                    f'stroke="{BLUE}"/><text x="{x(i):.1f}" y="{y(v) - 10:.1f}" '
                    f'text-anchor="middle">best</text>'
                )
        if points:
            parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}"/>')
    if win_rates:
        parts += _win_rate_panel(steps, win_rates, base, x)
    parts.append("</svg>")
    return "".join(parts)


def _win_rate_panel(steps: list[str], win_rates: dict[str, RateLine], base, x) -> list[str]:
    """The win-rate panel (0 to 100%, linear), under the perplexity panel; sources side by
    side at each step so their whiskers do not overlap."""
    top, bottom = HEIGHT + 24, HEIGHT + PANEL - 30
    x0, x1 = LEFT, WIDTH - RIGHT

    def y(v: float) -> float:
        return bottom + (top - bottom) * min(max(v, 0.0), 1.0)

    legend = ", ".join(
        f'<tspan fill="{SOURCE_COLOURS[k % len(SOURCE_COLOURS)]}">{escape(src)}</tspan>'
        for k, src in enumerate(win_rates)
    )
    parts = [
        f'<text x="{x0}" y="{top - 8}">Win rate vs {escape(base or "base")} (ties half): '
        f"{legend}</text>",
        f'<line x1="{x0}" y1="{y(0.5):.1f}" x2="{x1}" y2="{y(0.5):.1f}" stroke="{GREY}" '
        'stroke-dasharray="4 3"/>',
        f'<line x1="{x0}" y1="{bottom}" x2="{x1}" y2="{bottom}" stroke="#ccc"/>',
    ]
    for v in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{x0 - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0%}</text>')
    for i, step in enumerate(steps):
        parts.append(
            f'<text x="{x(i):.1f}" y="{bottom + 16}" text-anchor="middle">{escape(step)}</text>'
        )
    width = (x1 - x0) / max(len(steps), 1) * 0.5  # the sources share half a step's width
    for k, line in enumerate(win_rates.values()):
        colour = SOURCE_COLOURS[k % len(SOURCE_COLOURS)]
        dx = (k - (len(win_rates) - 1) / 2) * width / max(len(win_rates), 1)
        for i, point in enumerate(line):
            if point is None:
                if k == 0 and all(ln[i] is None for ln in win_rates.values()):
                    parts.append(
                        f'<text x="{x(i):.1f}" y="{y(0.5) - 6:.1f}" text-anchor="middle" '
                        f'fill="{GREY}">{"base" if steps[i] == base else "no pairs"}</text>'
                    )
                continue
            v, low, high = point
            cx = x(i) + dx
            if low is not None and high is not None:
                parts.append(
                    f'<line x1="{cx:.1f}" y1="{y(low):.1f}" x2="{cx:.1f}" y2="{y(high):.1f}" '
                    f'stroke="{colour}"/>'
                )
            parts.append(f'<circle cx="{cx:.1f}" cy="{y(v):.1f}" r="3" fill="{colour}"/>')
    return parts
