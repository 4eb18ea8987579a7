"""The Results page's judge-confidence section (issue #12): for every judge with log-probability
preferences, its calibration against the human majority: ECE, Brier score, the reliability
diagram (bin counts included) and agreement by confidence; and each judge's self-preference."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from sidebyside.analysis.report_models import StudyReport

NOTE = (
    "The judge's confidence is max(P(b), 1 − P(b)) from its verdict tokens' log-probabilities, "
    "both orders averaged. A calibrated judge's points lie on the diagonal: its 90%-sure calls "
    "agree with the human majority 90% of the time. ECE: count-weighted gap between agreement "
    "and confidence over equal-width bins; Brier: mean squared error of P(b) (0.25 = always "
    "0.5). Pairs the humans tied are left out."
)


def _confidences(report: StudyReport):
    """(label, confidence) of every judge with one: its log-probabilities' (or a sampled
    judge's votes'), and ``JUDGE (votes)`` for a sampled judge that has both."""
    for key, section in report.judges.items():
        if section.confidence is not None:
            yield key, section.confidence
        if section.vote_confidence is not None:
            yield f"{key} (votes)", section.vote_confidence


def confidence_rows(report: StudyReport) -> pd.DataFrame:
    """One row per judge with a confidence section: the single figures."""
    rows = []
    for key, c in _confidences(report):
        rows.append(
            {
                "judge": key,
                "pairs": c.n,
                "human ties left out": c.n_human_ties,
                "ECE": c.ece,
                "Brier": c.brier,
                "mean confidence": c.mean_confidence,
                "agreement": c.agreement,
            }
        )
    return pd.DataFrame(rows)


def reliability_frame(report: StudyReport) -> pd.DataFrame:
    """The reliability diagram's points: judge, bin, count, mean confidence, agreement."""
    rows = [
        {
            "judge": key,
            "bin": f"{b.lo:.1f}–{b.hi:.1f}",
            "count": b.count,
            "confidence": b.confidence,
            "agreement": b.agreement,
        }
        for key, c in _confidences(report)
        for b in c.bins
    ]
    return pd.DataFrame(rows)


def render_self_preference(report: StudyReport) -> None:
    """Each judge with a declared family: its own-family win rate against the humans'."""
    rows = [
        {"judge": key, **section.self_preference.model_dump()}
        for key, section in report.judges.items()
        if section.self_preference is not None
    ]
    if rows:
        st.subheader("Self-preference: does a judge favour its own model family?")
        st.caption(
            "On pairs of its own family's system against another family's: the judge's win "
            "rate for its family against the humans' on the same pairs (ties count half)."
        )
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_confidence_section(report: StudyReport) -> None:
    """Judge confidence (nothing when no judge has log-probability preferences), then
    self-preference (nothing without declared families)."""
    render_self_preference(report)
    table = confidence_rows(report)
    if table.empty:
        return
    st.subheader("Judge confidence: calibration against the humans")
    st.caption(NOTE)
    st.dataframe(table, hide_index=True, width="stretch")
    points = reliability_frame(report).dropna(subset=["agreement"])
    diagonal = alt.Chart(pd.DataFrame({"x": [0.5, 1.0], "y": [0.5, 1.0]})).mark_line(
        strokeDash=[4, 4], color="gray"
    )
    dots = (
        alt.Chart(points)
        .mark_line(point=True)
        .encode(
            x=alt.X("confidence:Q", scale=alt.Scale(domain=[0.5, 1]), title="judge confidence"),
            y=alt.Y("agreement:Q", scale=alt.Scale(domain=[0, 1]), title="human agreement"),
            color="judge:N",
            size=alt.Size("count:Q", legend=None),
            tooltip=["judge", "bin", "count", alt.Tooltip("agreement:Q", format=".2f")],
        )
    )
    st.altair_chart(
        (diagonal.encode(x="x:Q", y="y:Q") + dots).properties(title="Reliability diagram"),
        width="stretch",
    )
    for key, section in report.judges.items():
        if section.confidence is None:
            continue
        with st.expander(f"Bins and agreement by confidence: {key}"):
            bins = pd.DataFrame([b.model_dump() for b in section.confidence.bins])
            st.dataframe(bins, hide_index=True, width="stretch")
            levels = pd.DataFrame([lv.model_dump() for lv in section.confidence.by_confidence])
            st.dataframe(
                levels.rename(columns={"threshold": "at least this sure"}),
                hide_index=True,
                width="stretch",
            )
