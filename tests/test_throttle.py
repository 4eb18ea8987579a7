"""The login throttle holds under concurrency (issue 22): the decision to check a password and
the record of the attempt are one atomic step per user name and per client address, so 30
wrong passwords sent at once get no more password checks than 30 sent one after another (on
SQLite and PostgreSQL, threads through the login service); and the client address comes from
the connection, or from X-Forwarded-For only behind a trusted proxy."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import Session, func, select

from sidebyside.annotate.auth import (
    FREE_FAILURES_PER_CLIENT,
    FREE_FAILURES_PER_USER,
    create_user,
    log_in,
)
from sidebyside.annotate.throttle import client_address, trusted_proxies
from sidebyside.foundation.db import get_engine, unit_of_work
from sidebyside.foundation.models import AuditEvent, utcnow

N = 30


def checks(engine, **where) -> int:
    """Password checks made: the failed logins recorded (a throttled attempt checks nothing)."""
    query = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login_failed")
    for field, value in where.items():
        query = query.where(getattr(AuditEvent, field) == value)
    with Session(engine) as s:
        return s.exec(query).one()


def attempt(db_url: str, username: str, client: str, now) -> None:
    with unit_of_work(get_engine(db_url)) as s:  # as the login page: its own unit of work
        log_in(s, username=username, password="wrong-guess", client=client, now=now)


def in_parallel(db_url: str, calls: list[tuple[str, str]], now) -> None:
    start = threading.Barrier(len(calls), timeout=60)
    errors: list[BaseException] = []

    def run(username: str, client: str) -> None:
        try:
            start.wait()
            attempt(db_url, username, client, now)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_thirty_parallel_wrong_passwords_for_one_user_check_no_more_than_sequential(engine, db_url):
    with unit_of_work(engine) as s:
        for name in ("seq", "par"):
            create_user(s, username=name, password="right-horse-42")
    now = utcnow()  # one instant for all: the comparison does not depend on the clock
    for i in range(N):
        attempt(db_url, "seq", f"10.0.1.{i}", now)
    in_parallel(db_url, [("par", f"10.0.2.{i}") for i in range(N)], now)
    sequential, parallel = checks(engine, username="seq"), checks(engine, username="par")
    assert sequential == FREE_FAILURES_PER_USER
    assert parallel <= sequential


def test_thirty_parallel_attempts_from_one_address_check_no_more_than_sequential(engine, db_url):
    now = utcnow()
    for i in range(N):  # a new user name each time: only the address's counter can stop them
        attempt(db_url, f"s{i}", "192.0.2.1", now)
    in_parallel(db_url, [(f"p{i}", "192.0.2.2") for i in range(N)], now)
    sequential = checks(engine, client="192.0.2.1")
    parallel = checks(engine, client="192.0.2.2")
    assert sequential == FREE_FAILURES_PER_CLIENT
    assert parallel <= sequential


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "client"),
    [
        ("203.0.113.9", None, [], "203.0.113.9"),  # straight from the connection
        ("203.0.113.9", "1.1.1.1", [], "203.0.113.9"),  # not from a proxy: header ignored
        ("127.0.0.1", "198.51.100.7", ["127.0.0.1"], "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", ["127.0.0.1"], "198.51.100.7"),  # forged left
        ("10.0.0.2", "198.51.100.7, 10.0.0.3", ["10.0.0.0/24"], "198.51.100.7"),  # two proxies
        ("127.0.0.1", None, ["127.0.0.1"], None),  # a trusted proxy that said nothing
        ("127.0.0.1", "[2001:db8::1]:443", ["127.0.0.1"], "2001:db8::1"),
        (None, "198.51.100.7", ["127.0.0.1"], None),
    ],
)
def test_the_client_address(peer, forwarded, trusted, client):
    assert client_address(peer, forwarded, trusted) == client


def test_trusted_proxies_from_the_environment(monkeypatch):
    monkeypatch.setenv("SIDEBYSIDE_TRUSTED_PROXIES", " 127.0.0.1, 10.0.0.0/8 ,")
    assert trusted_proxies() == ["127.0.0.1", "10.0.0.0/8"]
    monkeypatch.delenv("SIDEBYSIDE_TRUSTED_PROXIES")
    assert trusted_proxies() == []
