"""The Results page's field-standard section (issue #11): for every source, Bradley–Terry
ratings as observed and style-controlled side by side (Chatbot Arena's method), and
AlpacaEval's mean-preference win rates where verdicts carry a continuous preference."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sidebyside.analysis import report_parity as rp
from sidebyside.analysis.report_models import StudyReport


def render_style_section(report: StudyReport) -> None:
    """One expander per source that has a style-controlled fit or continuous preferences."""
    sections = {"humans": report.human, **report.judges}
    shown = False
    for source, sec in sections.items():
        style = rp.style_cells(sec.style_control)
        prefs = rp.preference_cells(sec.win_rates)
        if not style and not prefs:
            continue
        if not shown:
            st.subheader("Both rankings: as observed and style-controlled")
            st.caption(rp.STYLE_NOTE)
            shown = True
        with st.expander(f"Ratings and rankings: {source}", expanded=source == "humans"):
            if style:
                st.dataframe(
                    pd.DataFrame(style, columns=rp.STYLE_HEADERS), hide_index=True, width="stretch"
                )
                st.caption(rp.style_coefficients(sec.style_control))
            if prefs:
                st.caption(rp.PREFERENCE_NOTE)
                st.dataframe(
                    pd.DataFrame(prefs, columns=rp.PREFERENCE_HEADERS),
                    hide_index=True,
                    width="stretch",
                )
