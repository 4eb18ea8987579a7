"""Logins that survive a reload, a bookmark and a typed URL.

Streamlit keeps ``st.session_state`` per websocket, so a reload used to log everyone out, and
a script cannot set an HttpOnly cookie (its code runs over the websocket, not in an HTTP
response; ``st.login`` is OIDC only). The app is therefore served as an ``st.App`` (Streamlit's
own ASGI app, ``ui/server.py``) with two small HTTP routes of ours:

1. The login form, once the password is right, stores a one-time **ticket** (32 random bytes,
   valid for a minute, only its sha256 kept) and sends the browser to
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
one it can be revoked at once. Nothing here commits except the HTTP routes (they are edges).
"""

from __future__ import annotations

import hashlib
import html
import json
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from sqlmodel import Session, select

from sidebyside.foundation.models import LoginSession, User, utcnow

COOKIE = "sbs_session"
SESSION_HOURS = 12
TICKET_SECONDS = 60
START_PATH = "/_session/start"
END_PATH = "/_session/end"
#: Session-state key of the current browser session's token hash (server side only).
SESSION_KEY = "_session_hash"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def safe_next(path: str | None) -> str:
    """Only a path of this app may follow a login (no ``//evil``, no scheme, no host).

    >>> safe_next("/study-results"), safe_next("//evil.example/x"), safe_next("https://e/")
    ('/study-results', '/', '/')
    """
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    parts = urlsplit(path)
    if parts.scheme or parts.netloc:
        return "/"
    return path[:500]


def issue_ticket(
    session: Session, *, user_id: int, next_path: str = "/", now: datetime | None = None
) -> str:
    """A one-time ticket for ``user_id`` (the caller has just checked the password)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_hash(token),
            user_id=user_id,
            kind="ticket",
            next_path=safe_next(next_path),
            created_at=now,
            expires_at=now + timedelta(seconds=TICKET_SECONDS),
        )
    )
    session.flush()
    return token


def redeem_ticket(
    session: Session, token: str, *, now: datetime | None = None
) -> tuple[str, str] | None:
    """Burn a ticket: ``(session token, next path)``, or None for an unknown, used or
    expired ticket or a deactivated account."""
    now = now or utcnow()
    row = session.exec(
        select(LoginSession).where(
            LoginSession.token_hash == _hash(token), LoginSession.kind == "ticket"
        )
    ).first()
    if row is None:
        return None
    session.delete(row)  # one use, whatever happens next
    user = session.get(User, row.user_id)
    if _aware(row.expires_at) < now or user is None or not user.active:
        return None
    cookie = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_hash(cookie),
            user_id=row.user_id,
            kind="session",
            created_at=now,
            expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )
    session.flush()
    return cookie, row.next_path


def _live(session: Session, token_hash: str, now: datetime) -> LoginSession | None:
    row = session.exec(
        select(LoginSession).where(
            LoginSession.token_hash == token_hash, LoginSession.kind == "session"
        )
    ).first()
    if row is None or row.revoked_at is not None or _aware(row.expires_at) < now:
        return None
    return row


def resolve(
    session: Session, token: str | None, *, now: datetime | None = None
) -> tuple[User, str] | None:
    """The active user of a cookie's session and the session's hash, else None."""
    if not isinstance(token, str) or not token:
        return None
    row = _live(session, _hash(token), now or utcnow())
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row.token_hash


def still_valid(session: Session, token_hash: str, *, now: datetime | None = None) -> bool:
    return _live(session, token_hash, now or utcnow()) is not None


def revoke(session: Session, token_hash: str, *, now: datetime | None = None) -> None:
    row = _live(session, token_hash, now or utcnow())
    if row is not None:
        row.revoked_at = now or utcnow()
        session.add(row)
        session.flush()


# ------------------------------------------------------------------ Streamlit side


def _base_path() -> str:
    import streamlit as st

    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def current_path() -> str:
    """The path of the page being shown (for "log in, then go back there")."""
    import streamlit as st

    try:
        path = urlsplit(st.context.url or "").path or "/"
    except Exception:  # noqa: BLE001 - AppTest and bare mode have no URL
        return "/"
    base = _base_path()
    if base and path.startswith(base):
        path = path[len(base) :] or "/"
    return path


def go_to(url: str) -> None:
    """Send the browser to a URL of this app. Our own constant script; the URL is built here
    from a random token and a checked path, and JSON-quoted besides."""
    import streamlit as st

    st.html(
        f"<script>window.location.replace({html.escape(json.dumps(url), quote=False)});</script>",
        unsafe_allow_javascript=True,
    )


#: Session-state key of a navigation the next run sends the browser on (see ``navigate``).
GO_KEY = "_go_to"


def navigate_after_rerun(url: str) -> None:
    """Ask the next script run to send the browser to ``url`` (a callback or a run that ends
    in ``st.rerun()`` cannot: the rerun would drop the script before the browser runs it)."""
    import streamlit as st

    st.session_state[GO_KEY] = url


def pending_navigation() -> None:
    """Called once per run by app.py: carries out ``navigate_after_rerun``."""
    import streamlit as st

    url = st.session_state.pop(GO_KEY, None)
    if url:
        go_to(url)


def start_browser_session(user_id: int, next_path: str) -> None:
    """After a successful login: a ticket now, the cookie on the next HTTP round trip (the
    browser follows ``/_session/start`` at the end of the next run, then comes back to
    ``next_path`` with the cookie set)."""
    from sidebyside.ui.common import db_session

    with db_session() as session:
        ticket = issue_ticket(session, user_id=user_id, next_path=next_path)
    target = f"{_base_path()}{START_PATH}?ticket={ticket}&next={quote(safe_next(next_path))}"
    navigate_after_rerun(target)


def user_id_from_cookie() -> int | None:
    """The user of this browser's session cookie (remembered for this websocket session)."""
    import streamlit as st

    from sidebyside.ui.common import db_session

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
    import streamlit as st

    from sidebyside.ui.common import db_session

    token_hash = st.session_state.get(SESSION_KEY)
    if token_hash is None:
        return False
    with db_session() as session:
        return not still_valid(session, token_hash)


def end_browser_session() -> None:
    """Log out: revoke the session on the server (so the cookie opens nothing any more, even
    if a copy of it survives), then have the browser drop the cookie. Call it before
    clearing the session state and rerunning."""
    import streamlit as st

    from sidebyside.ui.common import db_session

    token_hash = st.session_state.get(SESSION_KEY)
    if token_hash is not None:
        with db_session() as session:
            revoke(session, token_hash)


def cookie_drop_url() -> str:
    return f"{_base_path()}{END_PATH}"


# ------------------------------------------------------------------ HTTP routes (edges)


def routes() -> list:
    """The two Starlette routes ``ui/server.py`` mounts beside Streamlit's own."""
    from starlette.requests import Request
    from starlette.responses import RedirectResponse
    from starlette.routing import Route

    from sidebyside.foundation.db import get_engine, init_db, unit_of_work

    def start(request: Request) -> RedirectResponse:
        token = request.query_params.get("ticket", "")
        with unit_of_work(init_db(get_engine())) as session:
            found = redeem_ticket(session, token) if token else None
        base = _server_base()
        if found is None:  # back to the login form; nothing set
            return RedirectResponse(f"{base}/", status_code=303)
        cookie, next_path = found
        response = RedirectResponse(f"{base}{safe_next(next_path)}", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=SESSION_HOURS * 3600,
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def end(request: Request) -> RedirectResponse:
        response = RedirectResponse(f"{_server_base()}/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        response.headers["Cache-Control"] = "no-store"
        return response

    return [Route(START_PATH, start, methods=["GET"]), Route(END_PATH, end, methods=["GET"])]


def _server_base() -> str:
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""
