"""The Annotators page's "Study membership" tab: who may see and rate which study."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from sidebyside.annotate.membership import add_member, members, remove_member, set_closed
from sidebyside.foundation.lookup import get_study, list_studies
from sidebyside.foundation.models import User
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import show_error


def _names(text: str) -> list[str]:
    return [n for n in re.split(r"[\s,]+", text or "") if n]


def membership_tab(me: User) -> None:
    """Members per study, adding (by username, all or nothing) and removing, closing."""
    with db_session() as session:
        studies = list_studies(session)
        rows = [
            {
                "study": s.name,
                "state": "closed" if s.closed else "open",
                "members": ", ".join(u.username for u in members(session, s.id)) or "-",
            }
            for s in studies
        ]
    if not studies:
        st.info("There are no studies yet.")
        return
    if done := st.session_state.pop("_members_done", None):
        st.success(done)
    st.caption("Annotators see and rate only the studies they are members of; admins see all.")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    chosen = st.selectbox("Study", [s.name for s in studies], key="members_study")
    with st.form("add_members", clear_on_submit=True):
        typed = st.text_input(
            "Add annotators (usernames, separated by spaces or commas)", key="members_add"
        )
        add = st.form_submit_button("Add to study", type="primary")
    if add:
        try:
            names = _names(typed)
            if not names:
                raise ValueError("type at least one username")
            with db_session() as session:  # one unit of work: an unknown name adds nobody
                study = get_study(session, chosen)
                added = [
                    n
                    for n in names
                    if add_member(session, study=study, username=n, actor=me.username)
                ]
        except ValueError as exc:
            st.error(str(exc))
        except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
            show_error(exc, "adding the members")
        else:
            st.session_state["_members_done"] = (
                f"Added {', '.join(added)} to {chosen!r}."
                if added
                else "They were members already."
            )
            st.rerun()
    with db_session() as session:
        current = [u.username for u in members(session, get_study(session, chosen).id)]
        study = get_study(session, chosen)
    if current:
        gone = st.selectbox("Remove a member", current, index=None, key="members_remove")
        if gone and st.button(f"Remove {gone} from {chosen}", key="members_remove_go"):
            with db_session() as session:
                remove_member(session, study=get_study(session, chosen), username=gone)
            st.session_state["_members_done"] = f"{gone!r} is no longer a member of {chosen!r}."
            st.rerun()
    label = "Reopen this study" if study.closed else "Close this study"
    if st.button(label, key="members_close"):
        with db_session() as session:
            set_closed(session, study=get_study(session, chosen), closed=not study.closed)
        st.session_state["_members_done"] = (
            f"{chosen!r} is {'open again' if study.closed else 'closed: it hands out no pairs'}."
        )
        st.rerun()
