"""Log in, or create an account from a one-time invite link (?invite=TOKEN)."""

import streamlit as st

from sidebyside.annotate.auth import log_in, redeem_invite
from sidebyside.ui.client import request_client
from sidebyside.ui.common import MUST_CHANGE_KEY, login
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import show_error
from sidebyside.ui.navigation import current_path
from sidebyside.ui.session import start_browser_session

st.title("sidebyside")
token = st.query_params.get("invite")

if token:
    st.subheader("Create your account")
    st.caption("This invite link works once. Choose a username and a password.")
    with st.form("invite"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        again = st.text_input("Repeat password", type="password")
        create = st.form_submit_button("Create account", type="primary")
    if create:
        if password != again:
            st.error("The two passwords differ.")
        else:
            try:
                with db_session() as session:
                    user = redeem_invite(
                        session, token=token, username=username.strip(), password=password
                    )
            except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
                show_error(exc, "creating your account")
            else:
                st.query_params.clear()  # the token must not linger in the address bar
                login(user)
                start_browser_session(user.id, "/")
                st.rerun()
    if st.button("I already have an account"):
        st.query_params.clear()
        st.rerun()
else:
    st.subheader("Log in")
    with st.form("login"):
        username = st.text_input("Username", autocomplete="username")
        password = st.text_input("Password", type="password", autocomplete="current-password")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        with db_session() as session:  # committed on failure too: the failure must count
            outcome = log_in(session, username=username, password=password, client=request_client())
        if outcome.user is None:
            st.error(outcome.message)
        else:
            login(outcome.user)
            if outcome.must_change_password:
                st.session_state[MUST_CHANGE_KEY] = True
            else:  # no lasting session before a forced password change
                start_browser_session(outcome.user.id, current_path())
            st.rerun()
