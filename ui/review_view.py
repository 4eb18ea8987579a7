"""The Review page's pieces: who may open it, the disputed pair on screen, and the verdict
form (annotate/adjudication.py). Outputs, comments and judge reasonings are untrusted text,
rendered like every output (ui/render.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sidebyside.annotate.adjudication import ReviewPair, adjudicate
from sidebyside.foundation.enums import Role
from sidebyside.foundation.grading import PLAIN, STRONG
from sidebyside.foundation.models import Study, User
from sidebyside.ui.common import current_user
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import error_text
from sidebyside.ui.render import render

REVIEW_ROLES = (Role.ADMIN, Role.REVIEWER)


def require_reviewer() -> User:
    """The logged-in admin or reviewer; anyone else gets an error and the page stops."""
    user = current_user()
    if user is None or user.role not in REVIEW_ROLES:
        st.error("This page is for reviewers and admins only.")
        st.stop()
    return user


def show_review_pair(view: ReviewPair) -> None:
    st.markdown("**Prompt**")
    with st.container(border=True):
        render(view.prompt)
    if view.reference:
        with st.expander("Reference answer"):
            render(view.reference)
    left, right = st.columns(2, gap="small")
    for column, title, text in (
        (left, view.left_title, view.left),
        (right, view.right_title, view.right),
    ):
        with column:
            st.markdown(f"**{title}**" if view.blinded else f"**{title}** (system)")
            with st.container(border=True, height=300):
                render(text)
    st.markdown("**Ratings**")
    st.dataframe(pd.DataFrame(view.ratings), hide_index=True, width="stretch")
    if view.judges:
        st.markdown("**Judges**")
        for j in view.judges:
            with st.expander(f"{j['judge']}: {j['answer']}"):
                render(j["reasoning"] or "(no reasoning given)")
    if view.history:
        st.markdown("**Earlier verdicts**")
        st.dataframe(
            pd.DataFrame(
                [{k: h[k] for k in ("at", "reviewer", "verdict", "reason")} for h in view.history]
            ),
            hide_index=True,
            width="stretch",
        )


def _choices(view: ReviewPair, study: Study) -> dict[str, tuple[str, int | None]]:
    a, b = view.left_title, view.right_title
    if study.preference_levels == 5:
        return {
            f"{a} is much better": ("A", STRONG),
            f"{a} is better": ("A", PLAIN),
            "Tie": ("tie", None),
            f"{b} is better": ("B", PLAIN),
            f"{b} is much better": ("B", STRONG),
        }
    return {f"{a} is better": ("A", None), "Tie": ("tie", None), f"{b} is better": ("B", None)}


def verdict_form(view: ReviewPair, study: Study, pair_id: int, reviewer: User) -> None:
    choices = _choices(view, study)
    with st.form(f"verdict_{pair_id}", border=True, enter_to_submit=False):
        picked = st.radio("Your verdict", list(choices), index=None, horizontal=True)
        reason = st.text_area("Reason (kept with the verdict)", max_chars=5000)
        if not st.form_submit_button("Record verdict", type="primary"):
            return
    if picked is None:
        st.error("Choose a verdict first.")
        return
    shown, strength = choices[picked]
    try:
        with db_session() as session:
            adjudicate(
                session,
                study=study,
                pair_id=pair_id,
                reviewer=reviewer,
                shown=shown,
                reason=reason,
                swapped=view.swapped,
                blinded=view.blinded,
                strength=strength,
            )
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an id
        st.error(error_text(exc, "recording the verdict"))
        return
    st.success("Verdict recorded.")
    st.rerun()
