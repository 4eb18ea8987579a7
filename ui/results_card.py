"""The evaluation card, the Results page's first tab: every layer of the study (text metrics,
perplexity, benchmarks, judges, humans), base against each other system, each row with the
difference and its paired interval over the items both were measured on."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sidebyside.analysis.card_render import HEADERS, card_cells
from sidebyside.analysis.provenance import (
    eval_set_line,
    model_line,
    series_headers,
    series_notes,
    series_rows,
)
from sidebyside.analysis.report_models import StudyReport

#: Each card column's width (px): together 880, so the whole card fits the Results page at
#: 1366 px with the sidebar open (no column cut off); long cells wrap onto up to three lines.
WIDTHS = dict(zip(HEADERS, (65, 160, 75, 80, 75, 115, 120, 90, 110), strict=True))
#: Over 4rem, Streamlit's grid wraps a cell's text instead of cutting it; the header row is
#: one line high.
ROW_HEIGHT, HEADER_HEIGHT = 68, 40


def _style(card_rows, frame: pd.DataFrame):
    """Grey where 0 is within the difference's interval, red where a layer is flagged."""

    def colour(row: pd.Series) -> list[str]:
        r = card_rows[row.name]
        if r.flag:
            css = "color: #b00020; font-weight: 600"
        elif r.clear is False:
            css = "color: #888"
        else:
            css = ""
        return [css if col == "verdict" else "" for col in frame.columns]

    return frame.style.apply(colour, axis=1)


def render_results_card(report: StudyReport) -> None:
    """Show the report's card (built with the report, stored layers included)."""
    card = report.card
    st.subheader("Evaluation card")
    if report.compared is not None:  # what was compared opens the card
        st.caption(eval_set_line(report.compared.eval_set))
        for m in report.compared.models:
            st.caption(model_line(m))
        if report.compared.series is not None:
            series = report.compared.series
            st.caption(
                f"Checkpoint series: best {series.best or '—'}; "
                + " ".join(series_notes(series) or ["no overfitting step flagged."])
            )
            # Per checkpoint: perplexities, flags and (checkpoints as systems) win rates vs base.
            st.dataframe(
                pd.DataFrame(series_rows(series), columns=series_headers(series)),
                hide_index=True,
                width="stretch",
            )
    if card is None or not card.rows:
        st.info(
            "No figures yet: compute metrics or perplexity, run `sidebyside benchmark --study`, "
            "run judges or collect ratings, and the card fills in."
        )
        return
    frame = pd.DataFrame(card_cells(card), columns=HEADERS)
    st.dataframe(
        _style(card.rows, frame),
        hide_index=True,
        width="stretch",
        row_height=ROW_HEIGHT,
        height=HEADER_HEIGHT + ROW_HEIGHT * len(frame),  # every row, no inner scroll
        column_config={name: st.column_config.TextColumn(width=w) for name, w in WIDTHS.items()},
    )
    st.caption(" ".join(card.notes))
