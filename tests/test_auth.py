"""Accounts: hashing, login, roles, invites."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from sidebyside.annotate.auth import (
    FIRST_DELAY,
    FREE_FAILURES_PER_CLIENT,
    FREE_FAILURES_PER_USER,
    MAX_DELAY,
    authenticate,
    change_own_password,
    create_invite,
    create_user,
    log_in,
    redeem_invite,
    set_active,
    set_password,
    set_role,
)
from sidebyside.annotate.demo import load_demo
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import AuditEvent, Invite, User, utcnow


def test_passwords_are_hashed_with_argon2_and_verified(session):
    user = create_user(session, username="ann", password="s3cret!-xyz-1", role="annotator")
    stored = session.exec(select(User).where(User.username == "ann")).one()
    assert "s3cret!-xyz-1" not in stored.password_hash and stored.password_hash.startswith(
        "$argon2"
    )
    assert authenticate(session, username="ann", password="s3cret!-xyz-1").id == user.id
    assert authenticate(session, username="ann", password="wrong") is None
    assert authenticate(session, username="nobody", password="s3cret!-xyz-1") is None
    set_password(session, user=user, password="another-pw-22")
    assert authenticate(session, username="ann", password="another-pw-22") is not None


def test_accounts_without_password_and_inactive_ones_cannot_log_in(session):
    create_user(session, username="imported", password=None)
    assert authenticate(session, username="imported", password="") is None
    user = create_user(session, username="gone", password="pass1234-xyz")
    set_active(session, user=user, active=False)
    assert authenticate(session, username="gone", password="pass1234-xyz") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("bad name", "pass1234-xyz", "annotator", "invalid username"),
        ("ok", "pw", "annotator", "at least 10 characters"),
        ("ok", "short-pw1", "annotator", "at least 10 characters"),
        ("ok", "Password123", "annotator", "most common"),
        ("ok", "1234567890", "annotator", "most common"),
        ("carol", "carol-is-great", "annotator", "must not contain the username"),
        ("ok", "pass1234-xyz", "owner", "invalid role 'owner'"),
    ],
)
def test_invalid_accounts_are_refused(session, username, password, role, message):
    with pytest.raises(InputError, match=message):
        create_user(session, username=username, password=password, role=role)


def test_duplicate_username_is_refused(session):
    create_user(session, username="dup", password="pass1234-xyz")
    with pytest.raises(InputError, match="already exists"):
        create_user(session, username="dup", password="pass1234-xyz")


def test_invite_token_works_once_and_only_its_hash_is_stored(session):
    token = create_invite(session, role="admin")
    assert session.exec(select(Invite)).one().token_hash != token
    user = redeem_invite(session, token=token, username="newadmin", password="pass1234-xyz")
    assert user.role == "admin"
    with pytest.raises(InputError, match="already been used"):
        redeem_invite(session, token=token, username="second", password="pass1234-xyz")
    with pytest.raises(InputError, match="not valid"):
        redeem_invite(session, token="made-up", username="third", password="pass1234-xyz")


def test_expired_invite_is_refused(session):
    token = create_invite(session, hours=1)
    invite = session.exec(select(Invite)).one()
    invite.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invite)
    session.commit()
    with pytest.raises(InputError, match="expired"):
        redeem_invite(session, token=token, username="late", password="pass1234-xyz")
    assert session.exec(select(User)).all() == []


def test_role_changes_keep_one_admin(session):
    boss = create_user(session, username="boss", password="pass1234-xyz", role="admin")
    ann = create_user(session, username="ann", password="pass1234-xyz")
    with pytest.raises(InputError, match="only active admin"):
        set_role(session, user=boss, role="annotator")
    set_role(session, user=ann, role="admin")
    set_role(session, user=boss, role="annotator")
    assert (boss.role, ann.role) == ("annotator", "admin")
    with pytest.raises(InputError, match="invalid role"):
        set_role(session, user=ann, role="root")


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)))


def test_forty_wrong_passwords_then_the_right_one_is_throttled_and_logged(session, caplog):
    """Issue 9 finding 9: before, the right password worked after 40 wrong ones."""
    create_user(session, username="ann", password="right-horse-42")
    t0 = utcnow()
    with caplog.at_level("INFO", logger="sidebyside.audit"):
        for i in range(40):
            log_in(session, username="ann", password=f"wrong-{i}", now=t0 + timedelta(seconds=i))
    late = t0 + timedelta(seconds=41)
    refused = log_in(session, username="ann", password="right-horse-42", now=late)
    assert refused.user is None and refused.retry_after_s > 0
    assert "Too many failed logins" in refused.message
    assert _events(session, "login_throttled") and "login_failed" in caplog.text
    # Throttled attempts are not even checked: the failures counted stop growing.
    failed = len(_events(session, "login_failed"))
    assert failed < 40
    # Once the delay has passed, the right password works and resets the count.
    ok = log_in(session, username="ann", password="right-horse-42", now=late + MAX_DELAY)
    assert ok.user is not None and not ok.must_change_password
    assert log_in(session, username="ann", password="x", now=late + MAX_DELAY).retry_after_s == 0


def test_the_first_failures_are_free_and_the_delay_doubles(session):
    create_user(session, username="bob", password="right-horse-42")
    t0 = utcnow()
    for _i in range(FREE_FAILURES_PER_USER):
        out = log_in(session, username="bob", password="nope", now=t0)
        assert out.user is None and out.retry_after_s == 0
    first = log_in(session, username="bob", password="nope", now=t0).retry_after_s
    assert first == pytest.approx(FIRST_DELAY.total_seconds())
    later = t0 + FIRST_DELAY
    log_in(session, username="bob", password="nope", now=later)  # one more failure
    assert log_in(session, username="bob", password="nope", now=later).retry_after_s == (
        pytest.approx(2 * FIRST_DELAY.total_seconds())
    )


def test_one_client_address_guessing_many_accounts_is_throttled(session):
    create_user(session, username="victim", password="right-horse-42")
    t0 = utcnow()
    for i in range(FREE_FAILURES_PER_CLIENT + 1):  # a different user name each time
        log_in(session, username=f"guess{i}", password="x", client="10.0.0.9", now=t0)
    blocked = log_in(
        session, username="victim", password="right-horse-42", client="10.0.0.9", now=t0
    )
    assert blocked.user is None and blocked.retry_after_s > 0
    other = log_in(session, username="victim", password="right-horse-42", client="10.0.0.7", now=t0)
    assert other.user is not None


def test_demo_admin_must_choose_a_new_password_at_first_login(session):
    load_demo(session)
    out = log_in(session, username="admin", password="admin")
    assert out.user is not None and out.must_change_password
    with pytest.raises(InputError, match="at least 10"):
        change_own_password(session, user=out.user, current="admin", new="adm", again="adm")
    with pytest.raises(InputError, match="current password is wrong"):
        change_own_password(session, user=out.user, current="x", new="a" * 12, again="a" * 12)
    change_own_password(
        session, user=out.user, current="admin", new="tulip-orbit-93", again="tulip-orbit-93"
    )
    again = log_in(session, username="admin", password="tulip-orbit-93")
    assert again.user is not None and not again.must_change_password
    assert log_in(session, username="admin", password="admin").user is None
    assert [e.username for e in _events(session, "password_changed")] == ["admin"]
    # Demo annotators too must replace their published password before anything else.
    assert log_in(session, username="annotator1", password="demo").must_change_password


def test_role_changes_and_password_resets_are_audited(session):
    boss = create_user(session, username="boss", password="pass1234-xyz", role="admin")
    ann = create_user(session, username="ann", password="pass1234-xyz")
    set_role(session, user=ann, role="admin", actor="boss")
    set_password(session, user=ann, password="fresh-pass-77", actor="boss")
    (role,) = _events(session, "role_changed")
    assert (role.username, role.actor, role.detail) == ("ann", "boss", "annotator -> admin")
    (reset,) = _events(session, "password_reset")
    assert (reset.username, reset.actor) == ("ann", "boss")
    assert boss.role == "admin"


def test_an_older_database_gets_the_audit_table(tmp_path):
    """Schema version 2 (no auditevent table) migrates in place, keeping its accounts."""
    from sqlalchemy import inspect, text

    from sidebyside.foundation.db import get_engine, init_db
    from sidebyside.foundation.migrations.legacy import LEGACY_STEPS

    url = f"sqlite:///{tmp_path / 'old.db'}"
    eng = init_db(get_engine(url))
    with eng.begin() as conn:  # back to version 2: undo every later column, drop the table
        for version, step in LEGACY_STEPS.items():
            for table, column in step.columns if version > 2 else []:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("DROP TABLE auditevent"))
        conn.execute(text("UPDATE meta SET value = '2' WHERE key = 'schema_version'"))
        conn.execute(
            text(
                "INSERT INTO user (username, role, active, created_at) VALUES ('kept', "
                "'annotator', 1, '2026-01-01')"
            )
        )
    init_db(eng)
    assert inspect(eng).has_table("auditevent")
    with eng.connect() as conn:
        assert conn.execute(text("SELECT username FROM user")).scalars().all() == ["kept"]
    eng.dispose()
