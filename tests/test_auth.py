"""Accounts: hashing, login, roles, invites."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from annotate.auth import (
    authenticate,
    create_invite,
    create_user,
    redeem_invite,
    set_active,
    set_password,
    set_role,
)
from foundation.models import Invite, User, utcnow


def test_passwords_are_hashed_with_argon2_and_verified(session):
    user = create_user(session, username="ann", password="s3cret!", role="annotator")
    stored = session.exec(select(User).where(User.username == "ann")).one()
    assert "s3cret!" not in stored.password_hash and stored.password_hash.startswith("$argon2")
    assert authenticate(session, username="ann", password="s3cret!").id == user.id
    assert authenticate(session, username="ann", password="wrong") is None
    assert authenticate(session, username="nobody", password="s3cret!") is None
    set_password(session, user=user, password="another")
    assert authenticate(session, username="ann", password="another") is not None


def test_accounts_without_password_and_inactive_ones_cannot_log_in(session):
    create_user(session, username="imported", password=None)
    assert authenticate(session, username="imported", password="") is None
    user = create_user(session, username="gone", password="pass1234")
    set_active(session, user=user, active=False)
    assert authenticate(session, username="gone", password="pass1234") is None


@pytest.mark.parametrize(
    ("username", "password", "role", "message"),
    [
        ("bad name", "pass1234", "annotator", "invalid username"),
        ("ok", "pw", "annotator", "at least 4 characters"),
        ("ok", "pass1234", "owner", "invalid role 'owner'"),
    ],
)
def test_invalid_accounts_are_refused(session, username, password, role, message):
    with pytest.raises(ValueError, match=message):
        create_user(session, username=username, password=password, role=role)


def test_duplicate_username_is_refused(session):
    create_user(session, username="dup", password="pass1234")
    with pytest.raises(ValueError, match="already exists"):
        create_user(session, username="dup", password="pass1234")


def test_invite_token_works_once_and_only_its_hash_is_stored(session):
    token = create_invite(session, role="admin")
    assert session.exec(select(Invite)).one().token_hash != token
    user = redeem_invite(session, token=token, username="newadmin", password="pass1234")
    assert user.role == "admin"
    with pytest.raises(ValueError, match="already been used"):
        redeem_invite(session, token=token, username="second", password="pass1234")
    with pytest.raises(ValueError, match="not valid"):
        redeem_invite(session, token="made-up", username="third", password="pass1234")


def test_expired_invite_is_refused(session):
    token = create_invite(session, hours=1)
    invite = session.exec(select(Invite)).one()
    invite.expires_at = utcnow() - timedelta(minutes=1)
    session.add(invite)
    session.commit()
    with pytest.raises(ValueError, match="expired"):
        redeem_invite(session, token=token, username="late", password="pass1234")
    assert session.exec(select(User)).all() == []


def test_role_changes_keep_one_admin(session):
    boss = create_user(session, username="boss", password="pass1234", role="admin")
    ann = create_user(session, username="ann", password="pass1234")
    with pytest.raises(ValueError, match="only active admin"):
        set_role(session, user=boss, role="annotator")
    set_role(session, user=ann, role="admin")
    set_role(session, user=boss, role="annotator")
    assert (boss.role, ann.role) == ("annotator", "admin")
    with pytest.raises(ValueError, match="invalid role"):
        set_role(session, user=ann, role="root")
