"""Results tables that fit the page at 1366 px (issue 22): a table a little wider than the
page gets column widths that share the page and cells that wrap (Streamlit's grid wraps text
once a row is over 4rem high), instead of cutting its last columns off. A table far wider
(dozens of figures) keeps its own widths and scrolls sideways: squeezed, it would be unreadable.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from sidebyside.analysis.report_md import fmt

#: The width (px) a table may take: the Results page's main column at 1366 px, sidebar open.
PAGE_PX = 860
#: Rough pixels per character of the grid's font, and a cell's padding.
_CHAR_PX, _PAD_PX = 7.4, 18
#: Wrapped rows: up to three lines of text.
WRAP_ROW_PX, MAX_LINES = 68, 3
#: The grid's own row (and header) height.
ROW_PX = 35
#: The most a column keeps for its header when the table is squeezed.
HEADER_PX = 120


def _shown(value: object) -> str:
    """A cell as the grid shows it, near enough: floats to four significant digits.

    >>> _shown(0.40777777777), _shown(None), _shown("abc")
    ('0.4078', 'None', 'abc')
    """
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _need(frame: pd.DataFrame, column: str) -> float:
    """Pixels for ``column`` on one line: its header or its longest cell."""
    cells = frame[column].map(lambda v: len(_shown(v)))
    longest = max(len(str(column)), int(cells.max()) if len(cells) else 0)
    return longest * _CHAR_PX + _PAD_PX


def fitted(frame: pd.DataFrame, *, page_px: int = PAGE_PX) -> dict:
    """``st.dataframe`` arguments that fit ``frame`` into ``page_px``, or none when it fits as
    it is or is too wide to fit by wrapping.

    >>> fitted(pd.DataFrame({"a": [1]}))
    {}
    >>> wide = pd.DataFrame({f"column {i}": ["a fairly long cell text"] for i in range(6)})
    >>> args = fitted(wide)
    >>> args["row_height"], sum(c["width"] for c in args["column_config"].values()) <= PAGE_PX
    (68, True)
    """
    needs = {c: _need(frame, c) for c in frame.columns}
    total = sum(needs.values())
    if total <= page_px or total > page_px * MAX_LINES * 0.8:
        return {}
    # No column narrower than its header (headers do not wrap), up to HEADER_PX: the room
    # comes from the cells; a longer header may end in "…" (its full name is the column's).
    floors = {c: min(n, len(str(c)) * _CHAR_PX + _PAD_PX, HEADER_PX) for c, n in needs.items()}
    if sum(floors.values()) > page_px:
        return {}
    scale = page_px / total
    widths = {c: max(n * scale, floors[c]) for c, n in needs.items()}
    over = sum(widths.values()) - page_px
    for c in sorted(widths, key=lambda c: widths[c] - floors[c], reverse=True):
        if over <= 0:
            break
        cut = min(over, widths[c] - floors[c])
        widths[c] -= cut
        over -= cut
    widths = {c: int(w) for c, w in widths.items()}
    lines = max(math.ceil(needs[c] / widths[c]) for c in widths)
    if lines > MAX_LINES:
        return {}
    config = {c: st.column_config.Column(width=w) for c, w in widths.items()}
    return {"column_config": config, "row_height": WRAP_ROW_PX}


def dashed_missing(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its missing cells as "—", as the reports write them (the grid writes a
    grey "None", which reads like a value). Only columns that hold a missing cell become text;
    the others stay numbers the grid sorts and formats.

    A count with a gap (pandas keeps it as floats) is written as whole numbers again:

    >>> frame = pd.DataFrame({"a": [0.5, None], "n": [3, None], "b": [1, 2]})
    >>> dashed_missing(frame).to_dict("list")
    {'a': ['0.500', '—'], 'n': ['3', '—'], 'b': [1, 2]}
    """
    out = frame.copy()
    for column in out.columns:
        missing = out[column].isna()
        if not missing.any():
            continue
        present = out[column][~missing]
        whole = all(isinstance(v, float) and v.is_integer() for v in present)
        out[column] = [
            fmt(None) if gap else fmt(int(v) if whole else v)
            for v, gap in zip(out[column], missing, strict=True)
        ]
    return out


def fitted_dataframe(frame: pd.DataFrame, *, all_rows: bool = False, **kwargs) -> None:
    """``st.dataframe(frame, hide_index=True, width="stretch")``, fitted to the page, with
    missing cells as "—"; ``all_rows`` makes it tall enough for every row (no inner scroll),
    at the row height the fit chose."""
    frame = dashed_missing(frame)
    args = fitted(frame)
    if all_rows:
        args["height"] = args.get("row_height", ROW_PX) * len(frame) + ROW_PX + 3  # + header
    st.dataframe(frame, hide_index=True, width="stretch", **args, **kwargs)
