"""Accounts: argon2 password hashes, roles, one-time invite tokens, the login throttle and
the audit of accounts.

* Passwords people choose have at least 10 characters and are not on the list of the most
  common passwords (``common_passwords.txt``, shipped with the package).
* Failed logins are counted per user name and per client address (``LoginCounter`` rows,
  locked while an attempt is decided and counted, so the count holds across threads and app
  processes: ``throttle.py``): past a few, each further attempt waits twice as long (capped),
  and a throttled attempt does not even check the password.
* An account whose password falls short of the rules (the demo's published ``admin``/``admin``
  and ``annotator1``/``demo``) must set a new one at login before anything else
  (``LoginOutcome.must_change_password``).
* Logins, failed and throttled logins, role changes and password changes are written to the
  ``auditevent`` table and to the ``sidebyside.audit`` log.

Every function takes the caller's session and leaves the commit to it (the CLI command or
the page that opened the unit of work)."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from sidebyside.annotate import throttle
from sidebyside.foundation.enums import Role
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import AuditEvent, Invite, Study, StudyMember, User, utcnow
from sidebyside.foundation.names import clash

#: The roles an account can have, admin first.
ROLES: tuple[Role, ...] = tuple(Role)
#: What a username may be (accounts made here and annotators named in imported ratings).
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,100}$")
_hasher = PasswordHasher()
audit_log = logging.getLogger("sidebyside.audit")

#: Shortest password a person may choose.
MIN_PASSWORD_CHARS = 10
#: Failed logins allowed before the throttle starts (per user name; per client address, more
#: because several people may share one address).
FREE_FAILURES_PER_USER = 5
FREE_FAILURES_PER_CLIENT = 20
#: The first throttled attempt waits this long, each further one twice as long, up to the cap.
FIRST_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)
#: Failures older than this are forgotten.
FAILURE_WINDOW = timedelta(hours=1)


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
        raise InputError(f"invalid role {role!r}: expected one of {', '.join(ROLES)}") from None


def _check(username: str, password: str | None, role: str) -> Role:
    if not USERNAME.match(username):
        raise InputError(
            f"invalid username {username!r}: use 1-100 letters, digits, '_', '.', '@' or '-'"
        )
    checked = _role(role)
    if password is not None:
        check_password(password, username)
    return checked


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = (Path(__file__).with_name("common_passwords.txt")).read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_password(password: str, username: str = "") -> None:
    """``InputError`` saying what is wrong with a password a person chose, else nothing."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InputError(f"password must have at least {MIN_PASSWORD_CHARS} characters")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 3:
        raise InputError("this password is one of the most common ones; choose another")
    if username and username.lower() in lowered:
        raise InputError("the password must not contain the username")


def password_ok(password: str, username: str = "") -> bool:
    try:
        check_password(password, username)
    except InputError:
        return False
    return True


def audit(
    session: Session,
    action: str,
    *,
    username: str,
    actor: str | None = None,
    client: str | None = None,
    detail: str = "",
    now: datetime | None = None,
) -> None:
    """One audit line: a row (committed with the caller's unit of work) and a log record."""
    session.add(
        AuditEvent(
            at=now or utcnow(),
            action=action,
            username=username[:100],
            actor=actor[:100] if actor else None,
            client=client[:100] if client else None,
            detail=detail[:500],
        )
    )
    audit_log.info(
        "%s user=%r actor=%r client=%r %s", action, username[:100], actor, client, detail
    )


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
    """Insert a new account; a username taken meanwhile (a race) is the same ``InputError``."""
    if get_user(session, user.username) is not None:
        raise InputError(f"user {user.username!r} already exists")
    others = session.exec(select(User.username)).all()
    if other := clash(user.username, others):  # "Ann" and "ann" would look like one person
        raise InputError(
            f"username {user.username!r} differs from the existing user {other!r} only by case"
        )
    try:
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise InputError(f"user {user.username!r} already exists") from None


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None,
    role: str = Role.ANNOTATOR,
    enforce_rules: bool = True,
) -> User:
    """Create an account; ``password=None`` makes one that cannot log in. Only the demo
    passes ``enforce_rules=False`` (its published logins; its admin must change at login)."""
    checked = _check(username, password if enforce_rules else None, role)
    user = User(
        username=username,
        password_hash=hash_password(password) if password is not None else None,
        role=checked,
    )
    _add_user(session, user)
    return user


def set_password(session: Session, *, user: User, password: str, actor: str | None = None) -> None:
    """Set a new password (checked against the rules); audited as a reset when ``actor`` is
    someone else (an admin, "cli"), else as the account's own change."""
    _check(user.username, password, user.role)
    user.password_hash = hash_password(password)
    session.add(user)
    action = "password_reset" if actor and actor != user.username else "password_changed"
    audit(session, action, username=user.username, actor=actor)
    session.flush()


def set_role(session: Session, *, user: User, role: str, actor: str | None = None) -> None:
    """Make an account admin or annotator; the last active admin cannot be demoted."""
    checked = _role(role)
    if user.role == Role.ADMIN and checked != Role.ADMIN:
        admins = session.exec(select(User).where(User.role == Role.ADMIN, User.active)).all()
        if [a.id for a in admins] == [user.id]:
            raise InputError(
                f"{user.username!r} is the only active admin; make another admin first"
            )
    if user.role != checked:
        audit(
            session,
            "role_changed",
            username=user.username,
            actor=actor,
            detail=f"{user.role} -> {checked}",
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


@dataclass(frozen=True)
class LoginOutcome:
    """What a login attempt gave: the user (None if refused), whether they must choose a new
    password before anything else, and how long to wait when throttled."""

    user: User | None
    must_change_password: bool = False
    retry_after_s: float = 0.0

    @property
    def message(self) -> str:
        if self.retry_after_s:
            return (
                "Too many failed logins: wait "
                f"{max(1, round(self.retry_after_s))} seconds before trying again."
            )
        return "Wrong username or password, or the account is deactivated."


def _delay(failures: int, free: int) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(MAX_DELAY, FIRST_DELAY * 2 ** (failures - free))


def log_in(
    session: Session,
    *,
    username: str,
    password: str,
    client: str | None = None,
    now: datetime | None = None,
) -> LoginOutcome:
    """A login attempt from the login page: throttled, audited (the caller commits, also on
    failure, so the failure counts)."""
    now = now or utcnow()
    name = username.strip()[:100]
    client = client if isinstance(client, str) and client else None  # unknown off a browser
    # One atomic step per user name and per address: the counters are locked until the
    # caller commits, so a parallel attempt waits for this one to be counted (throttle.py).
    limits = {throttle.user_key(name): FREE_FAILURES_PER_USER}
    if client:
        limits[throttle.client_key(client)] = FREE_FAILURES_PER_CLIENT
    counters = throttle.lock_counters(session, list(limits))
    for counter in counters.values():
        throttle.forget_old(counter, now, FAILURE_WINDOW)
    wait = max(throttle.seconds_blocked(c, now) for c in counters.values())
    if wait > 0:
        audit(session, "login_throttled", username=name, client=client, now=now)
        return LoginOutcome(None, retry_after_s=wait)
    user = authenticate(session, username=name, password=password)
    if user is None:
        for key, counter in counters.items():
            throttle.count_failure(counter, now, _delay(counter.failures + 1, limits[key]))
            session.add(counter)
        audit(session, "login_failed", username=name, client=client, now=now)
        return LoginOutcome(None)
    for counter in counters.values():
        throttle.reset(counter)
        session.add(counter)
    audit(session, "login", username=name, client=client, now=now)
    # Any account whose password falls short of the rules (the demo's published logins)
    # must choose a new one before anything else opens.
    must_change = not password_ok(password, user.username)
    return LoginOutcome(user, must_change_password=must_change)


def change_own_password(
    session: Session, *, user: User, current: str, new: str, again: str
) -> None:
    """The account's own password change (also the forced one at first login): the current
    password proves it is them; the new one follows the rules and differs from it."""
    if not verify_password(user.password_hash, current):
        raise InputError("the current password is wrong")
    if new != again:
        raise InputError("the two new passwords differ")
    if new == current:
        raise InputError("choose a password different from the current one")
    set_password(session, user=user, password=new, actor=user.username)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_invite(
    session: Session,
    *,
    role: str = Role.ANNOTATOR,
    hours: float = 72,
    study: Study | None = None,
) -> str:
    """A one-time token for a new account (a member of ``study`` when given); only its hash
    is stored."""
    checked = _role(role)
    if study is not None and study.closed:
        raise InputError(f"study {study.name!r} is closed: it takes no new annotators")
    token = secrets.token_urlsafe(24)
    session.add(
        Invite(
            token_hash=_token_hash(token),
            role=checked,
            expires_at=utcnow() + timedelta(hours=hours),
            study_id=study.id if study is not None else None,
        )
    )
    session.flush()
    return token


def redeem_invite(session: Session, *, token: str, username: str, password: str) -> User:
    """Create the invited account; the token works once and only before it expires. The
    account and the used token land in the caller's one transaction."""
    invite = session.exec(select(Invite).where(Invite.token_hash == _token_hash(token))).first()
    if invite is None or invite.used_at is not None:
        raise InputError("this invite link is not valid or has already been used")
    if invite.expires_at < utcnow():
        raise InputError("this invite link has expired; ask an admin for a new one")
    study = session.get(Study, invite.study_id) if invite.study_id is not None else None
    if invite.study_id is not None and (study is None or study.closed):
        name = repr(study.name) if study is not None else "of this link"
        raise InputError(f"study {name} is closed and takes no new annotators; nothing was created")
    role = _check(username, password, invite.role)
    user = User(username=username, password_hash=hash_password(password), role=role)
    _add_user(session, user)
    if study is not None and role != Role.ADMIN:
        session.add(StudyMember(study_id=study.id, user_id=user.id, added_by="invite"))
        user.last_study_id = study.id  # the first Annotate page opens this study
    invite.used_at = utcnow()
    invite.used_by = user.id
    session.add(invite)
    session.flush()
    return user
