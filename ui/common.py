"""Helpers every page uses: the logged-in user, the role gates and study picking."""

from __future__ import annotations

import streamlit as st

from sidebyside.foundation.enums import Role
from sidebyside.foundation.models import Study, User
from sidebyside.ui.db import db_session
from sidebyside.ui.session import session_ended, user_id_from_cookie

#: Session-state key of the logged-in user's id (server side only, never sent to the browser).
USER_KEY = "_user_id"
#: Set at login when the account must choose a new password before anything else.
MUST_CHANGE_KEY = "_must_change_password"


def login(user: User) -> None:
    st.session_state[USER_KEY] = user.id


def logout() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def current_user() -> User | None:
    """The logged-in user, re-read on every run so a deactivated account is out at once."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        # A reload, a bookmark or a typed URL: the HttpOnly session cookie may log us back in.
        user_id = user_id_from_cookie()
        if user_id is None:
            return None
        st.session_state[USER_KEY] = user_id
    elif session_ended():  # logged out in another tab, or the session expired
        logout()
        return None
    with db_session() as session:
        user = session.get(User, user_id)
    if user is None or not user.active:
        logout()
        return None
    return user


def require_user() -> User:
    user = current_user()
    if user is None:
        st.error("Please log in first.")
        st.stop()
    return user


def require_admin() -> User:
    """The logged-in admin; anyone else gets an error and the page stops here."""
    user = current_user()
    if user is None or user.role != Role.ADMIN:
        st.error("This page is for admins only.")
        st.stop()
    return user


def pick_study(label: str = "Study", *, key: str = "study") -> Study | None:
    """A study chosen in a selectbox (no widget when there is only one); None if none exist."""
    from sidebyside.foundation.lookup import list_studies

    with db_session() as session:
        studies = list_studies(session)
    if not studies:
        st.info("There are no studies yet.")
        return None
    if len(studies) == 1:
        return studies[0]
    names = [s.name for s in studies]
    chosen = st.selectbox(label, names, key=key)
    return studies[names.index(chosen)] if chosen in names else studies[0]
