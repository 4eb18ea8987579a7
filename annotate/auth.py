"""Accounts: argon2 password hashes, roles, one-time invite tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from foundation.models import Invite, User, utcnow

ROLES = ("admin", "annotator")
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _check(username: str, password: str | None, role: str) -> None:
    if not _USERNAME.match(username):
        raise ValueError(
            f"invalid username {username!r}: use 1-100 letters, digits, '_', '.', '@' or '-'"
        )
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")
    if password is not None and len(password) < 4:
        raise ValueError("password must have at least 4 characters")


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def create_user(
    session: Session, *, username: str, password: str | None, role: str = "annotator"
) -> User:
    """Create an account; ``password=None`` makes one that cannot log in. Commits."""
    _check(username, password, role)
    if get_user(session, username) is not None:
        raise ValueError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password) if password is not None else None,
        role=role,
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    _check(user.username, password, user.role)
    user.password_hash = hash_password(password)
    session.add(user)
    session.commit()


def set_role(session: Session, *, user: User, role: str) -> None:
    """Make an account admin or annotator; the last active admin cannot be demoted. Commits."""
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")
    if user.role == "admin" and role != "admin":
        admins = session.exec(select(User).where(User.role == "admin", User.active)).all()
        if [a.id for a in admins] == [user.id]:
            raise ValueError(
                f"{user.username!r} is the only active admin; make another admin first"
            )
    user.role = role
    session.add(user)
    session.commit()


def set_active(session: Session, *, user: User, active: bool) -> None:
    user.active = active
    session.add(user)
    session.commit()


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The user if the password matches an active account that may log in, else None."""
    user = get_user(session, username.strip())
    if user is None or not user.active:
        # Hash anyway so a wrong username takes as long as a wrong password.
        verify_password(_DUMMY_HASH, password)
        return None
    return user if verify_password(user.password_hash, password) else None


_DUMMY_HASH = _hasher.hash("not a password")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(session: Session, *, role: str = "annotator", hours: float = 72) -> str:
    """A one-time token for a new account; only its hash is stored. Commits."""
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(24)
    session.add(
        Invite(
            token_hash=_token_hash(token),
            role=role,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    session.commit()
    return token


def redeem_invite(session: Session, *, token: str, username: str, password: str) -> User:
    """Create the invited account; the token works once and only before it expires."""
    invite = session.exec(select(Invite).where(Invite.token_hash == _token_hash(token))).first()
    if invite is None or invite.used_at is not None:
        raise ValueError("this invite link is not valid or has already been used")
    if invite.expires_at < utcnow():
        raise ValueError("this invite link has expired; ask an admin for a new one")
    _check(username, password, invite.role)
    if get_user(session, username) is not None:
        raise ValueError(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(password), role=invite.role)
    session.add(user)
    session.flush()
    invite.used_at = utcnow()
    invite.used_by = user.id
    session.add(invite)
    session.commit()  # account and used token in one transaction
    session.refresh(user)
    return user
