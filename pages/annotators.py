"""Admin: accounts, roles, one-time invite links, deactivation."""

from urllib.parse import urlsplit

import pandas as pd
import streamlit as st

from sidebyside.annotate.auth import (
    ROLES,
    account_rows,
    create_invite,
    create_user,
    get_user,
    list_users,
    set_active,
    set_password,
    set_role,
)
from sidebyside.foundation.enums import Role
from sidebyside.foundation.lookup import get_study, list_studies
from sidebyside.ui.common import require_admin
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import show_error
from sidebyside.ui.membership_tab import membership_tab

me = require_admin()
st.title("Annotators")


def _app_root() -> str:
    """Scheme, host and port the admin is using, for invite links ("" if unknown)."""
    url = st.context.url or ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


with db_session() as session:
    users = list_users(session)
if done := st.session_state.pop("_accounts_done", None):  # what the last action did
    st.success(done)
st.dataframe(pd.DataFrame(account_rows(users)), hide_index=True, width="stretch")

add, invite, manage, membership = st.tabs(
    ["Add an account", "Invite link", "Deactivate or reset", "Study membership"]
)

with add, st.form("add_user", clear_on_submit=True):
    username = st.text_input("Username")
    password = st.text_input("Password", type="password", help="At least 4 characters.")
    role = st.radio("Role", ROLES[::-1], horizontal=True)  # annotator first
    if st.form_submit_button("Create account", type="primary"):
        try:
            with db_session() as session:
                user = create_user(session, username=username.strip(), password=password, role=role)
        except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
            show_error(exc, "creating the account")
        else:  # rerun, so the table above lists the new account
            st.session_state["_accounts_done"] = f"Created {user.role} {user.username!r}."
            st.rerun()

with invite:
    st.caption(
        "An invite link lets one person create their own account; it works once and expires."
    )
    with db_session() as session:
        all_studies = list_studies(session)
    with st.form("invite"):
        invite_role = st.radio("Role", ROLES[::-1], horizontal=True, key="invite_role")
        hours = st.number_input("Valid for (hours)", min_value=1, max_value=24 * 30, value=72)
        invite_study = st.selectbox(
            "Joins study",
            [s.name for s in all_studies if not s.closed],
            index=None,
            placeholder="No study (add them to one later)",
            key="invite_study",
        )
        make = st.form_submit_button("Create invite link", type="primary")
    if make:
        try:
            with db_session() as session:
                target = get_study(session, invite_study) if invite_study else None
                token = create_invite(session, role=invite_role, hours=float(hours), study=target)
        except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
            show_error(exc, "creating the invite link")
        else:
            st.success("Send this link to the new annotator. It is shown only once.")
            st.code(f"{_app_root()}/?invite={token}", language=None)

with manage:
    others = [u.username for u in users]
    if not others:
        st.info("No accounts yet.")
    else:
        who = st.selectbox("Account", others, key="manage_user")
        target = next(u for u in users if u.username == who)
        state_text = "active" if target.active else "deactivated"
        st.caption(f"{target.username} is a {target.role} and is {state_text}.")
        if target.id == me.id:
            st.caption("You cannot deactivate your own account.")
        elif target.active:
            if st.button("Deactivate", key="deactivate"):
                with db_session() as session:
                    set_active(session, user=get_user(session, who), active=False)
                st.session_state["_accounts_done"] = (
                    f"Deactivated {who!r}: their open sessions are closed."
                )
                st.rerun()
        elif st.button("Reactivate", key="reactivate"):
            with db_session() as session:
                set_active(session, user=get_user(session, who), active=True)
            st.session_state["_accounts_done"] = f"Reactivated {who!r}."
            st.rerun()
        other_role = Role.ANNOTATOR if target.role == Role.ADMIN else Role.ADMIN
        if target.id != me.id and st.button(f"Make {other_role}", key="change_role"):
            try:
                with db_session() as session:
                    set_role(
                        session, user=get_user(session, who), role=other_role, actor=me.username
                    )
            except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
                show_error(exc, "changing the role")
            else:
                st.session_state["_accounts_done"] = f"{who!r} is now {other_role}."
                st.rerun()
        with st.form("reset_password", clear_on_submit=True):
            new_password = st.text_input("New password", type="password")
            if st.form_submit_button("Set password"):
                try:
                    with db_session() as session:
                        set_password(
                            session,
                            user=get_user(session, who),
                            password=new_password,
                            actor=me.username,
                        )
                except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
                    show_error(exc, "setting the password")
                else:
                    st.success(f"Password of {who!r} changed.")

with membership:
    membership_tab(me)
