"""Accounts: argon2 password hashes, roles, one-time invite tokens.

Every function takes the caller's session and leaves the commit to it (the CLI command or
the page that opened the unit of work)."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from foundation.enums import Role
from foundation.models import Invite, User, utcnow

#: The roles an account can have, admin first.
ROLES: tuple[Role, ...] = tuple(Role)
#: What a username may be (accounts made here and annotators named in imported ratings).
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
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


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise ValueError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}") from None


def _check(username: str, password: str | None, role: str) -> Role:
    if not USERNAME.match(username):
        raise ValueError(
            f"invalid username {username!r}: use 1-100 letters, digits, '_', '.', '@' or '-'"
        )
    checked = _role(role)
    if password is not None and len(password) < 4:
        raise ValueError("password must have at least 4 characters")
    return checked


def get_user(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def list_users(session: Session) -> list[User]:
    """Every account, by username."""
    return list(session.exec(select(User).order_by(User.username)))


def account_rows(users: list[User]) -> list[dict]:
    """The accounts table of the Annotators page: what each account is, never its hash."""
    return [
        {
            "username": u.username,
            "role": str(u.role),
            "active": u.active,
            "can log in": bool(u.password_hash),
            "created (UTC)": u.created_at.strftime("%Y-%m-%d %H:%M"),
        }
        for u in users
    ]


def _add_user(session: Session, user: User) -> None:
    """Insert a new account; a username taken meanwhile (a race) is a ValueError."""
    if get_user(session, user.username) is not None:
        raise ValueError(f"user {user.username!r} already exists")
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise ValueError(f"user {user.username!r} already exists") from None


def create_user(
    session: Session, *, username: str, password: str | None, role: str = Role.ANNOTATOR
) -> User:
    """Create an account; ``password=None`` makes one that cannot log in."""
    checked = _check(username, password, role)
    user = User(
        username=username,
        password_hash=hash_password(password) if password is not None else None,
        role=checked,
    )
    _add_user(session, user)
    return user


def set_password(session: Session, *, user: User, password: str) -> None:
    _check(user.username, password, user.role)
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()


def set_role(session: Session, *, user: User, role: str) -> None:
    """Make an account admin or annotator; the last active admin cannot be demoted."""
    checked = _role(role)
    if user.role == Role.ADMIN and checked != Role.ADMIN:
        admins = session.exec(select(User).where(User.role == Role.ADMIN, User.active)).all()
        if [a.id for a in admins] == [user.id]:
            raise ValueError(
                f"{user.username!r} is the only active admin; make another admin first"
            )
    user.role = checked
    session.add(user)
    session.flush()


def set_active(session: Session, *, user: User, active: bool) -> None:
    user.active = active
    session.add(user)
    session.flush()


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


def create_invite(session: Session, *, role: str = Role.ANNOTATOR, hours: float = 72) -> str:
    """A one-time token for a new account; only its hash is stored."""
    checked = _role(role)
    token = secrets.token_urlsafe(24)
    session.add(
        Invite(
            token_hash=_token_hash(token),
            role=checked,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    session.flush()
    return token


def redeem_invite(session: Session, *, token: str, username: str, password: str) -> User:
    """Create the invited account; the token works once and only before it expires. The
    account and the used token land in the caller's one transaction."""
    invite = session.exec(select(Invite).where(Invite.token_hash == _token_hash(token))).first()
    if invite is None or invite.used_at is not None:
        raise ValueError("this invite link is not valid or has already been used")
    if invite.expires_at < utcnow():
        raise ValueError("this invite link has expired; ask an admin for a new one")
    role = _check(username, password, invite.role)
    user = User(username=username, password_hash=hash_password(password), role=role)
    _add_user(session, user)
    invite.used_at = utcnow()
    invite.used_by = user.id
    session.add(invite)
    session.flush()
    return user
