"""The study picker of Annotate and My ratings: only the studies the user may see
(``annotate.membership``), opening on the one they chose last, never silently on the first.

* Its choices are the visible studies alone, so no widget value, crafted or stale, can name
  another one; whatever is not one of them gives None (the page then claims nothing).
* ``?study=NAME`` in the address opens that study; a study the user may not see gives a clear
  message and None, never a fallback to another study.
* With no remembered choice and several studies, nothing is chosen until the user picks one.
"""

from __future__ import annotations

import streamlit as st

from sidebyside.annotate.membership import remembered_study, visible_studies
from sidebyside.foundation.enums import Role
from sidebyside.foundation.models import Study, User
from sidebyside.ui.db import db_session

#: The query parameter of a study's deep link (``/rate?study=NAME``).
STUDY_PARAM = "study"


def _from_link(studies: list[Study], user: User) -> tuple[Study | None, str | None]:
    """(the study the address names, or None; an error message when it names one this user
    may not open)."""
    try:
        wanted = st.query_params.get(STUDY_PARAM)
    except Exception:  # noqa: BLE001 - no query parameters outside a served page
        return None, None
    if not wanted:
        return None, None
    found = next((s for s in studies if s.name == wanted), None)
    if found is not None:
        return found, None
    if user.role == Role.ADMIN:
        return None, f"There is no study {wanted!r}."
    return None, (
        f"You are not a member of a study {wanted!r}, or it is closed: nothing was handed to "
        "you from it. Ask its admin to add you."
    )


def pick_visible_study(user: User, label: str = "Study", *, key: str = "study") -> Study | None:
    """The study chosen among those ``user`` may see; None (with a message) when there is
    none, none chosen yet, or the choice is not one of them."""
    with db_session() as session:
        studies = visible_studies(session, user)
    if not studies:
        if user.role == Role.ADMIN:
            st.info("There are no studies yet.")
        else:
            st.info("You are not a member of any open study yet. Ask an admin to add you.")
        return None
    linked, refusal = _from_link(studies, user)
    if refusal:
        st.error(refusal)
        return None
    names = [s.name for s in studies]
    if linked is not None:
        st.session_state[key] = linked.name
        del st.query_params[STUDY_PARAM]  # followed once: the picker is free again after
    elif st.session_state.get(key) not in names:
        # A new browser session (reload, login) or a stale value: the remembered study, the
        # only one, or nothing yet; never whichever happens to come first.
        start = remembered_study(studies, user)
        if start is None and len(studies) == 1:
            start = studies[0]
        st.session_state[key] = start.name if start is not None else None
    if len(studies) == 1 and st.session_state[key] == names[0]:
        return studies[0]
    chosen = st.selectbox(
        label, names, key=key, index=None, placeholder="Choose a study to start rating"
    )
    if chosen not in names:
        return None
    return studies[names.index(chosen)]
