"""The login token store: one-time tickets and cookie sessions, kept as sha256 hashes.

How the tokens travel (a ticket in a redirect, the session in an HttpOnly cookie) is told in
``ui/session.py``. These functions take a session and never commit: the HTTP routes and the
page callbacks that call them own the unit of work."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel import Session, select

from sidebyside.foundation.models import LoginSession, User, utcnow

COOKIE = "sbs_session"
SESSION_HOURS = 12
TICKET_SECONDS = 60
START_PATH = "/_session/start"
END_PATH = "/_session/end"


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
    """True while the session of ``token_hash`` is neither expired nor revoked."""
    return _live(session, token_hash, now or utcnow()) is not None


def revoke(session: Session, token_hash: str, *, now: datetime | None = None) -> None:
    """End the session of ``token_hash`` on the server (its cookie opens nothing after)."""
    row = _live(session, token_hash, now or utcnow())
    if row is not None:
        row.revoked_at = now or utcnow()
        session.add(row)
        session.flush()
