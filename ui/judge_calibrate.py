"""The Judges page's calibration sections: stress-probe results (``judge-probe``) with
examples, and the version history of aligned prompt templates (``judge-align``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from sqlmodel import Session, col, select

from sidebyside.analysis.probes import load_probe_rows, probe_results
from sidebyside.foundation.models import JudgeAlignment
from sidebyside.ui.render import render as render_untrusted


def probe_table(session: Session, study_id: int) -> pd.DataFrame:
    """One row per (judge, probe): the flip rate with its Wilson interval, and the control's."""
    rows = []
    for r in probe_results(load_probe_rows(session, study_id)):
        rows.append(
            {
                "judge": r["judge"],
                "probe": r["probe"],
                "pairs": r["n"],
                "flips": r["flips"],
                "flip rate": r["flip_rate"],
                "CI low": r["ci_low"],
                "CI high": r["ci_high"],
                "ties": r["ties"],
                "control flips": r["control_flips"],
                "control rate": r["control_rate"],
                "_examples": r["examples"],
            }
        )
    return pd.DataFrame(rows)


def alignment_history(session: Session, study_id: int) -> pd.DataFrame:
    """Every ``judge-align`` round of the study, oldest first."""
    rounds = session.exec(
        select(JudgeAlignment)
        .where(JudgeAlignment.study_id == study_id)
        .order_by(col(JudgeAlignment.id))
    ).all()
    return pd.DataFrame(
        [
            {
                "judge": a.judge,
                "version": a.version,
                "template": a.template,
                "aligned judge": a.aligned_judge,
                "shots": len(a.shots[0]["examples"]) if a.shots else 0,
                "folds": a.folds,
                "pairs": a.n,
                "agreement before": a.agreement_before,
                "agreement after": a.agreement_after,
                "difference CI": f"[{a.diff_low:.3f}, {a.diff_high:.3f}]"
                if a.diff_low is not None and a.diff_high is not None
                else "—",
                "p (McNemar)": a.mcnemar_p,
                "when": a.created_at.strftime("%Y-%m-%d %H:%M"),
            }
            for a in rounds
        ]
    )


def render_calibration(session: Session, study_id: int) -> None:
    """The two sections, each only when it has something to show."""
    probes = probe_table(session, study_id)
    if len(probes):
        st.subheader("Stress probes")
        st.caption(
            "`sidebyside judge-probe`: the losing response of decided pairs perturbed "
            "(pad, markdown, authority, injection, or your own probe file) and judged again in "
            "both orders. Flip rate: verdicts that went to the perturbed loser (Wilson "
            "interval); control: the winner perturbed instead. A swayed judge flips often "
            "and not in the control."
        )
        st.dataframe(probes.drop(columns="_examples"), hide_index=True, width="stretch")
        with st.expander("Examples of flips"):
            for _, r in probes.iterrows():
                for ex in r["_examples"]:
                    st.markdown(
                        f"**{r['judge']}**, {r['probe']}, pair {ex['pair_id']}: "
                        f"{ex['winner']} → {ex['verdict']}"
                    )
                    render_untrusted(ex["reasoning"])  # the judge's words: untrusted
    history = alignment_history(session, study_id)
    if len(history):
        st.subheader("Prompt versions (judge-align)")
        st.caption(
            "Each round wrote the next template version with few-shot examples from pairs "
            "where the judge and the human majority disagreed, and judged the study with it "
            "in cross-fitted folds (no pair is judged with itself as an example)."
        )
        st.dataframe(history, hide_index=True, width="stretch")
