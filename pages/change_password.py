"""Choose a new password: forced at login for an account whose password falls short of the
rules (the demo's published logins), before any other page opens."""

import streamlit as st

from sidebyside.annotate.auth import MIN_PASSWORD_CHARS, change_own_password
from sidebyside.ui.common import MUST_CHANGE_KEY, require_user
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import show_error
from sidebyside.ui.session import start_browser_session

user = require_user()
st.title("Choose a new password")
st.info(
    "Your password is too weak (the demo's passwords are public). Choose one of at least "
    f"{MIN_PASSWORD_CHARS} characters that is not a common password; nothing else opens "
    "until you do."
)
with st.form("change_password"):
    current = st.text_input("Current password", type="password", autocomplete="current-password")
    new = st.text_input("New password", type="password", autocomplete="new-password")
    again = st.text_input("Repeat the new password", type="password", autocomplete="new-password")
    done = st.form_submit_button("Set password", type="primary")
if done:
    try:
        with db_session() as session:
            change_own_password(session, user=user, current=current, new=new, again=again)
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
        show_error(exc, "changing your password")
    else:
        st.session_state.pop(MUST_CHANGE_KEY, None)
        start_browser_session(user.id, "/")  # the lasting login starts now, not before
        st.rerun()
