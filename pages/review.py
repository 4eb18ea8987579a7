"""Reviewer or admin: settle the pairs where the humans split or the humans and a judge
disagree (annotate/adjudication.py); every verdict is kept with its reason."""

import streamlit as st

from sidebyside.annotate.adjudication import (
    disputed_pairs,
    pair_for_review,
    review_settings,
)
from sidebyside.ui.common import pick_study
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import shown_as_message
from sidebyside.ui.render import inject_css
from sidebyside.ui.review_view import require_reviewer, show_review_pair, verdict_form

reviewer = require_reviewer()
inject_css()
st.title("Review")
study = pick_study("Study", key="review_study")
if study is None:
    st.stop()

with shown_as_message("finding disputed pairs"), db_session() as session:
    settings = review_settings(session, study.id)
    disputed = disputed_pairs(session, study=study)
judge_note = f"; human majority against judge {settings.judge}" if settings.judge else ""
st.caption(
    f"Pairs where the humans split{judge_note}. Outputs are shown "
    + ("blinded (Response A / B, sides seeded per pair)." if settings.blinded else "by system.")
)
if not disputed:
    st.success("No disputed pairs in this study.")
    st.stop()
open_first = st.toggle("Only pairs without a verdict", value=True)
rows = [d for d in disputed if d["adjudicated"] is None] if open_first else disputed
if not rows:
    st.success("Every disputed pair has a verdict.")
    st.stop()
labels = {
    f"pair {d['pair_id']} · prompt {d['prompt']} · {', '.join(d['reasons'])}"
    + (" · settled" if d["adjudicated"] else ""): d["pair_id"]
    for d in rows
}
picked = st.selectbox(f"{len(rows)} disputed pair(s)", list(labels))
pair_id = labels[picked]
with shown_as_message("loading the pair"), db_session() as session:
    view = pair_for_review(session, study=study, pair_id=pair_id)
show_review_pair(view)
verdict_form(view, study, pair_id, reviewer)
