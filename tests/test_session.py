"""ui/tokens.py: one-time tickets, cookie sessions that expire, revocation, deactivation."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from sidebyside.annotate.auth import create_user
from sidebyside.foundation.models import LoginSession, utcnow
from sidebyside.ui.tokens import (
    SESSION_HOURS,
    TICKET_SECONDS,
    issue_ticket,
    redeem_ticket,
    resolve,
    revoke,
    safe_next,
    still_valid,
)


def test_ticket_is_single_use_and_stores_only_hashes(session):
    user = create_user(session, username="ann", password="long-enough-pw-1")
    ticket = issue_ticket(session, user_id=user.id, next_path="/mine")
    cookie, next_path = redeem_ticket(session, ticket)
    assert next_path == "/mine"
    assert redeem_ticket(session, ticket) is None  # burnt
    found, token_hash = resolve(session, cookie)
    assert found.id == user.id
    stored = {row.token_hash for row in session.exec(select(LoginSession))}
    assert cookie not in stored and ticket not in stored and token_hash in stored


def test_expired_ticket_and_session_open_nothing(session):
    user = create_user(session, username="ann", password="long-enough-pw-1")
    old = utcnow() - timedelta(seconds=TICKET_SECONDS + 1)
    assert redeem_ticket(session, issue_ticket(session, user_id=user.id, now=old)) is None
    cookie, _ = redeem_ticket(session, issue_ticket(session, user_id=user.id))
    later = utcnow() + timedelta(hours=SESSION_HOURS, seconds=1)
    assert resolve(session, cookie, now=later) is None
    assert resolve(session, cookie) is not None


def test_logout_and_deactivation_end_the_session(session):
    user = create_user(session, username="ann", password="long-enough-pw-1")
    cookie, _ = redeem_ticket(session, issue_ticket(session, user_id=user.id))
    _, token_hash = resolve(session, cookie)
    revoke(session, token_hash)
    assert resolve(session, cookie) is None and not still_valid(session, token_hash)

    cookie, _ = redeem_ticket(session, issue_ticket(session, user_id=user.id))
    user.active = False
    session.add(user)
    session.flush()
    assert resolve(session, cookie) is None
    assert resolve(session, "made-up-token") is None and resolve(session, None) is None


def test_only_local_paths_follow_a_login():
    assert safe_next("/study-results") == "/study-results"
    for bad in ("//evil.example/x", "https://evil.example/", "evil", "/\\evil", ""):
        assert safe_next(bad) == "/"


def test_an_older_database_gains_the_session_and_history_tables(tmp_path):
    """A database made before version 4 (no loginsession / ratingrevision) keeps its rows and
    gets both tables when the app opens it."""
    from sqlalchemy import inspect, text

    from sidebyside.foundation.db import get_engine, init_db, unit_of_work
    from sidebyside.foundation.migrations.legacy import SCHEMA_VERSION

    engine = init_db(get_engine(f"sqlite:///{tmp_path / 'old.db'}"))
    with unit_of_work(engine) as s:
        create_user(s, username="ann", password="long-enough-pw-1")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE loginsession"))
        conn.execute(text("DROP TABLE ratingrevision"))
        conn.execute(text("UPDATE meta SET value = '3' WHERE key = 'schema_version'"))
    init_db(engine)
    tables = set(inspect(engine).get_table_names())
    assert {"loginsession", "ratingrevision"} <= tables
    with engine.connect() as conn:
        version = conn.execute(text("SELECT value FROM meta WHERE key='schema_version'")).scalar()
        assert version == str(SCHEMA_VERSION)
        assert conn.execute(text("SELECT count(*) FROM user")).scalar() == 1
