"""Logins that survive a reload, a bookmark and a typed URL: the browser-session glue.

Streamlit keeps ``st.session_state`` per websocket, so a reload used to log everyone out, and
a script cannot set an HttpOnly cookie (its code runs over the websocket, not in an HTTP
response; ``st.login`` is OIDC only). The app is therefore served as an ``st.App`` (Streamlit's
own ASGI app, ``ui/server.py``) with two small HTTP routes of ours (``ui/routes.py``):

1. The login form, once the password is right, stores a one-time **ticket** (32 random bytes,
   valid for a minute, only its sha256 kept; ``ui/tokens.py``) and sends the browser to
   ``/_session/start?ticket=...&next=/the-page``.
2. That route burns the ticket, creates a **session** row (its token's sha256, the user, an
   expiry of ``SESSION_HOURS``) and answers with a redirect that sets the token as a cookie:
   ``HttpOnly`` (no script, including a hostile model output, can read it), ``SameSite=Lax``,
   ``Path=/``, ``Secure`` when served over TLS, ``Max-Age`` = the expiry.
3. Every script run that has no user yet reads the cookie (``st.context.cookies``, sent with
   the websocket handshake) and looks the session up: unknown, expired or revoked tokens and
   deactivated accounts open nothing. A logged-in run re-checks its session too, so a logout in
   another tab ends this one.
4. Logging out revokes the row on the server, then ``/_session/end`` deletes the cookie.

A random 256-bit token looked up on the server is as strong as a signed cookie, and unlike
one it can be revoked at once.
"""

from __future__ import annotations

from urllib.parse import quote

import streamlit as st

from sidebyside.ui.db import db_session
from sidebyside.ui.navigation import base_path, navigate_after_rerun
from sidebyside.ui.tokens import (
    COOKIE,
    END_PATH,
    START_PATH,
    issue_ticket,
    resolve,
    revoke,
    safe_next,
    still_valid,
)

#: Session-state key of the current browser session's token hash (server side only).
SESSION_KEY = "_session_hash"


def start_browser_session(user_id: int, next_path: str) -> None:
    """After a successful login: a ticket now, the cookie on the next HTTP round trip (the
    browser follows ``/_session/start`` at the end of the next run, then comes back to
    ``next_path`` with the cookie set)."""
    with db_session() as session:
        ticket = issue_ticket(session, user_id=user_id, next_path=next_path)
    target = f"{base_path()}{START_PATH}?ticket={ticket}&next={quote(safe_next(next_path))}"
    navigate_after_rerun(target)


def user_id_from_cookie() -> int | None:
    """The user of this browser's session cookie (remembered for this websocket session)."""
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no cookies outside a served browser session
        return None
    if not isinstance(token, str) or not token:  # AppTest hands back a stand-in
        return None
    with db_session() as session:
        found = resolve(session, token)
    if found is None:
        return None
    user, token_hash = found
    st.session_state[SESSION_KEY] = token_hash
    return user.id


def session_ended() -> bool:
    """True when this browser's session was revoked or expired since it was opened."""
    token_hash = st.session_state.get(SESSION_KEY)
    if token_hash is None:
        return False
    with db_session() as session:
        return not still_valid(session, token_hash)


def end_browser_session() -> None:
    """Log out: revoke the session on the server (so the cookie opens nothing any more, even
    if a copy of it survives), then have the browser drop the cookie. Call it before
    clearing the session state and rerunning."""
    token_hash = st.session_state.get(SESSION_KEY)
    if token_hash is not None:
        with db_session() as session:
            revoke(session, token_hash)


def cookie_drop_url() -> str:
    """The address that deletes the session cookie (``/_session/end``)."""
    return f"{base_path()}{END_PATH}"
