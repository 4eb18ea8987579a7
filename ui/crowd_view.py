"""The Annotate page's part for crowd participants (annotate/crowd.py): they see their own
study only, and once their quota is done the completion code or the way back."""

from __future__ import annotations

import streamlit as st

from sidebyside.annotate.crowd import completion, participant_study
from sidebyside.foundation.models import Study, User
from sidebyside.ui.db import db_session


def own_study(user: User) -> Study | None:
    """A participant's study (no picker, no other study's name); None for anyone else."""
    with db_session() as session:
        return participant_study(session, user.id)


def completed(user: User) -> bool:
    """Show the completion page when the participant's quota is done; True if shown."""
    with db_session() as session:
        done = completion(session, user_id=user.id)
    if done is None:
        return False
    st.success("You have finished this study. Thank you!")
    if done.code:
        st.markdown("Your completion code:")
        st.code(done.code, language=None)
    if done.redirect_url:
        st.link_button("Return to the study site", done.redirect_url, type="primary")
    return True
