"""Helpers every page uses: the cached engine, the logged-in user, study picking and the one
safe way to show model text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.foundation.enums import Role
from sidebyside.foundation.models import Study, User
from sidebyside.foundation.settings import get_settings

#: Session-state key of the logged-in user's id (server side only, never sent to the browser).
USER_KEY = "_user_id"
#: Set at login when the account must choose a new password before anything else.
MUST_CHANGE_KEY = "_must_change_password"


@st.cache_resource(show_spinner=False, max_entries=8)
def _engine_for(url: str) -> Engine:
    return init_db(get_engine(url))


def get_engine_cached() -> Engine:
    """The process-wide engine for the configured database, tables created once."""
    return _engine_for(get_settings().database_url)


@contextmanager
def db_session() -> Iterator[Session]:
    """The page's (or callback's) unit of work on the cached engine: committed when the block
    ends, rolled back if it raises; objects stay readable afterwards. Keep it short, and keep
    ``st.rerun()``/``st.stop()`` outside it (they raise, so they would roll it back)."""
    with unit_of_work(get_engine_cached()) as session:
        yield session


def login(user: User) -> None:
    st.session_state[USER_KEY] = user.id


def logout() -> None:
    for key in list(st.session_state.keys()):
        del st.session_state[key]


def current_user() -> User | None:
    """The logged-in user, re-read on every run so a deactivated account is out at once."""
    from sidebyside.ui.session import session_ended, user_id_from_cookie

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
    from sidebyside.annotate.studies import list_studies

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


# Code spans and fenced blocks keep their dollars; elsewhere a "$" would start LaTeX.
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.DOTALL)


def escape_dollars(text: str) -> str:
    r"""Escape ``$`` outside code so prices are not typeset as math.

    >>> escape_dollars("costs $12 and `$HOME`")
    'costs \\$12 and `$HOME`'
    """
    parts = _CODE.split(text)
    return "".join(p if i % 2 else p.replace("$", r"\$") for i, p in enumerate(parts))


def render_untrusted(text: str | None) -> None:
    """Show model or imported text as Markdown with HTML disabled: tags appear as text."""
    if text is None or not text.strip():
        st.caption("(empty response)")
        return
    st.markdown(escape_dollars(text), unsafe_allow_html=False)
