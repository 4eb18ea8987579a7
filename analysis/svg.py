"""Hand-built inline SVG charts for the offline HTML report (no JavaScript, no fonts, no
network: a browser renders them from the file alone). Every label is escaped."""

from __future__ import annotations

from html import escape
from typing import Any

WIDTH = 640
ROW = 26
LABEL_W = 220
PAD = 12
BLUE, GREY, RED = "#3b6ea8", "#888", "#c0392b"


def _x(v: float, lo: float, hi: float, x0: float, x1: float) -> float:
    v = min(max(v, lo), hi)
    return x0 + (v - lo) / (hi - lo) * (x1 - x0) if hi > lo else x0


def interval_chart(
    rows: list[tuple[str, float | None, float | None, float | None]],
    *,
    lo: float,
    hi: float,
    ref: float | None = None,
    bars: bool = True,
    digits: int = 2,
    title: str = "",
) -> str:
    """Horizontal bars (or dots) with CI whiskers; rows are (label, value, low, high).

    >>> svg = interval_chart([("a <b>", 0.6, 0.5, 0.7)], lo=0, hi=1, ref=0.5)
    >>> svg.startswith("<svg") and "a &lt;b&gt;" in svg and "<b>" not in svg
    True
    """
    height = PAD * 2 + 20 + ROW * max(len(rows), 1) + 18
    x0, x1 = LABEL_W, WIDTH - 70
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{PAD}" y="{PAD + 8}" font-weight="bold">{escape(title)}</text>',
    ]
    top = PAD + 20
    axis_y = top + ROW * max(len(rows), 1)
    for tick in range(5):
        v = lo + (hi - lo) * tick / 4
        x = _x(v, lo, hi, x0, x1)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" stroke="#eee"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{axis_y + 14}" text-anchor="middle" fill="{GREY}">'
            f"{v:.{digits}f}</text>"
        )
    if ref is not None:
        x = _x(ref, lo, hi, x0, x1)
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{axis_y}" '
            f'stroke="{GREY}" stroke-dasharray="4 3"/>'
        )
    for i, (label, value, low, high) in enumerate(rows):
        y = top + i * ROW + ROW / 2
        parts.append(
            f'<text x="{LABEL_W - 8}" y="{y + 4:.1f}" text-anchor="end">{escape(str(label))}</text>'
        )
        if value is None:
            parts.append(f'<text x="{x0}" y="{y + 4:.1f}" fill="{GREY}">n/a</text>')
            continue
        xv = _x(value, lo, hi, x0, x1)
        if bars:
            base = _x(lo if ref is None else ref, lo, hi, x0, x1)
            left, w = min(base, xv), abs(xv - base)
            parts.append(
                f'<rect x="{left:.1f}" y="{y - 7:.1f}" width="{max(w, 1):.1f}" '
                f'height="14" fill="{BLUE}" opacity="0.75"/>'
            )
        else:
            parts.append(f'<circle cx="{xv:.1f}" cy="{y:.1f}" r="4" fill="{BLUE}"/>')
        if low is not None and high is not None:
            xl, xh = _x(low, lo, hi, x0, x1), _x(high, lo, hi, x0, x1)
            parts.append(
                f'<line x1="{xl:.1f}" y1="{y:.1f}" x2="{xh:.1f}" y2="{y:.1f}" '
                'stroke="black" stroke-width="1.5"/>'
            )
            for xe in (xl, xh):
                parts.append(
                    f'<line x1="{xe:.1f}" y1="{y - 5:.1f}" x2="{xe:.1f}" '
                    f'y2="{y + 5:.1f}" stroke="black" stroke-width="1.5"/>'
                )
        parts.append(f'<text x="{x1 + 8}" y="{y + 4:.1f}">{value:.{digits}f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _color(v: float, vmin: float, vmax: float) -> str:
    """White ─► blue for the value's position in [vmin, vmax]; red for values below 0."""
    if v < 0 <= vmin or (v < 0 and vmin < 0):
        t = min(abs(v) / (abs(vmin) or 1), 1.0)
        r, g, b = 255, int(255 - 120 * t), int(255 - 120 * t)
    else:
        t = (v - max(vmin, 0)) / ((vmax - max(vmin, 0)) or 1)
        t = min(max(t, 0.0), 1.0)
        r, g, b = int(255 - 196 * t), int(255 - 145 * t), int(255 - 87 * t)
    return f"rgb({r},{g},{b})"


def heatmap(
    rows: list[str],
    cols: list[str],
    matrix: list[list[Any]],
    *,
    vmin: float,
    vmax: float,
    digits: int = 2,
    title: str = "",
    row_title: str = "",
    col_title: str = "",
) -> str:
    """A labelled heatmap with the value in each cell (None cells stay blank).

    >>> "&amp;" in heatmap(["x&y"], ["z"], [[0.5]], vmin=0, vmax=1)
    True
    """
    cell = max(28, min(64, (WIDTH - LABEL_W) // max(len(cols), 1)))
    width = LABEL_W + cell * len(cols) + 140  # room for the rotated column labels
    height = PAD + 20 + 70 + cell * len(rows) + PAD + 14
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}" '
        'font-family="sans-serif" font-size="11">',
        f'<text x="{PAD}" y="{PAD + 8}" font-weight="bold" font-size="12">{escape(title)}</text>',
    ]
    top = PAD + 20 + 70
    for j, c in enumerate(cols):
        x = LABEL_W + j * cell + cell / 2
        parts.append(
            f'<text x="{x:.1f}" y="{top - 6}" text-anchor="start" '
            f'transform="rotate(-35 {x:.1f} {top - 6})">{escape(str(c))}</text>'
        )
    for i, r in enumerate(rows):
        y = top + i * cell
        parts.append(
            f'<text x="{LABEL_W - 6}" y="{y + cell / 2 + 4:.1f}" text-anchor="end">'
            f"{escape(str(r))}</text>"
        )
        for j, v in enumerate(matrix[i]):
            x = LABEL_W + j * cell
            fill = "#f7f7f7" if v is None else _color(float(v), vmin, vmax)
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 1}" height="{cell - 1}" fill="{fill}"/>'
            )
            if v is not None:
                text = f"{v:.{digits}f}" if isinstance(v, float) else str(v)
                parts.append(
                    f'<text x="{x + cell / 2:.1f}" y="{y + cell / 2 + 4:.1f}" '
                    f'text-anchor="middle">{text}</text>'
                )
    foot = top + len(rows) * cell + 14
    if row_title or col_title:
        parts.append(
            f'<text x="{PAD}" y="{foot}" fill="{GREY}">rows: {escape(row_title)}; '
            f"columns: {escape(col_title)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
