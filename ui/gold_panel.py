"""The Progress page's gold panel: every rater's accuracy on the study's gold pairs with its
Wilson interval, and who is below the threshold (annotate/gold.py, analysis/gold.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sidebyside.analysis.gold import gold_accuracy
from sidebyside.analysis.gold_reading import gold_threshold, load_gold_answers
from sidebyside.annotate.gold import gold_pair_ids, settings_of
from sidebyside.foundation.models import Study
from sidebyside.ui.db import db_session

COLUMNS = {
    "annotator": st.column_config.TextColumn("Rater"),
    "n": st.column_config.NumberColumn("Gold answers"),
    "right": st.column_config.NumberColumn("Right"),
    "accuracy": st.column_config.NumberColumn("Accuracy", format="%.2f"),
    "ci_low": st.column_config.NumberColumn("95% CI low", format="%.2f"),
    "ci_high": st.column_config.NumberColumn("95% CI high", format="%.2f"),
    "passed": st.column_config.CheckboxColumn("At threshold"),
}


def gold_panel(study: Study) -> None:
    """Nothing for a study without gold pairs."""
    with db_session() as session:
        n_gold = len(gold_pair_ids(session, study.id))
        if not n_gold:
            return
        settings = settings_of(session, study.id)
        threshold = gold_threshold(session, study.id)
        rows = gold_accuracy(load_gold_answers(session, study.id), threshold=threshold)
    st.subheader("Gold pairs")
    qualify = (
        f"the first {settings.qualify_n} pairs of each rater are gold and {threshold:.0%} "
        "right is needed to go on"
        if settings.qualify_n
        else "no qualification"
    )
    st.caption(
        f"{n_gold} pairs with a known answer, served blind at a rate of {settings.rate:.0%}; "
        f"{qualify}. They count in no figure; the accuracy interval is Wilson's."
    )
    if not rows:
        st.info("No answers on gold pairs yet.")
        return
    below = [r["annotator"] for r in rows if not r["passed"]]
    if below:
        st.warning(f"Below {threshold:.0%} on gold pairs: " + ", ".join(below))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config=COLUMNS)
