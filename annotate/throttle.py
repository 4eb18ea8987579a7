"""The login throttle's counters: one row per user name and per client address
(``LoginCounter``), read and written under a row lock, so the decision to check a password
and the record of the attempt are one atomic step.

Before, the wait was computed from the audit rows and the failure written afterwards, as two
separate steps: 30 attempts sent at once all read "no failures yet" and all had their
password checked. Now each attempt locks its counters first (``UPDATE`` of the rows, which
takes PostgreSQL's row lock and SQLite's write lock, held to the commit), decides, checks the
password if allowed and counts the outcome before the lock goes, so N parallel attempts get
no more password checks than N sequential ones, across threads and processes.

Which address counts as the client is ``client_address``: the connection's peer, or, only
when that peer is a trusted proxy (``SIDEBYSIDE_TRUSTED_PROXIES``), the right-most address of
``X-Forwarded-For`` that is not a trusted proxy itself.

>>> client_address("10.0.0.5", "1.2.3.4", [])
'10.0.0.5'
>>> client_address("10.0.0.5", "6.6.6.6, 1.2.3.4", ["10.0.0.0/8"])
'1.2.3.4'
>>> client_address("10.0.0.5", "garbage", ["10.0.0.5"]) is None
True
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sidebyside.foundation.models import LoginCounter

#: Environment variable: comma-separated addresses or networks of reverse proxies whose
#: ``X-Forwarded-For`` is believed (e.g. ``127.0.0.1`` for an nginx on the same machine).
TRUSTED_PROXIES_ENV = "SIDEBYSIDE_TRUSTED_PROXIES"

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_proxies(value: str | None = None) -> list[str]:
    """The configured trusted proxies (``SIDEBYSIDE_TRUSTED_PROXIES``), as written."""
    raw = os.environ.get(TRUSTED_PROXIES_ENV, "") if value is None else value
    return [part.strip() for part in raw.split(",") if part.strip()]


def _networks(trusted: list[str]) -> list[_Net]:
    nets = []
    for item in trusted:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            continue  # not an address: trusts nothing
    return nets


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str | None, trusted: list[str]) -> str | None:
    """The client of a request: its connection's ``peer``, unless that peer is a trusted proxy,
    then the right-most ``X-Forwarded-For`` entry that is not a trusted proxy (each proxy
    appends the address it saw, so anything further left may be forged by the client). None
    when the peer is unknown, or a trusted proxy sent no usable address."""
    peer_ip = _ip(peer) if peer else None
    if peer_ip is None:
        return None
    nets = _networks(trusted)
    if not any(peer_ip in net for net in nets):
        return str(peer_ip)
    for hop in reversed((forwarded_for or "").split(",")):
        hop_ip = _ip(hop)
        if hop_ip is None:
            return None  # a proxy we trust wrote something we cannot read: no guess
        if not any(hop_ip in net for net in nets):
            return str(hop_ip)
    return None


def _aware(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)  # SQLite: naive UTC


def user_key(username: str) -> str:
    return f"user:{username[:100]}"


def client_key(client: str) -> str:
    return f"client:{client[:100]}"


def lock_counters(session: Session, keys: list[str]) -> dict[str, LoginCounter]:
    """The counters of ``keys``, created where missing and locked until the caller's commit:
    a second attempt for the same user or address waits here for the first to be counted."""
    for key in keys:
        if session.get(LoginCounter, key) is None:
            try:
                with session.begin_nested():  # made meanwhile by a racing attempt: fine
                    session.add(LoginCounter(key=key, failures=0))
            except IntegrityError:
                pass
    # An UPDATE takes PostgreSQL's row locks and SQLite's write lock (to the commit), and
    # then reads the rows as the attempt before us left them.
    session.execute(
        update(LoginCounter)
        .where(col(LoginCounter.key).in_(keys))
        .values(failures=LoginCounter.failures)
    )
    rows = session.exec(
        select(LoginCounter)
        .where(col(LoginCounter.key).in_(keys))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.key: row for row in rows}


def forget_old(counter: LoginCounter, now: datetime, window: timedelta) -> None:
    """Failures older than ``window`` no longer count."""
    last = _aware(counter.last_failure_at)
    if last is not None and last < now - window:
        counter.failures = 0
        counter.blocked_until = None
        counter.last_failure_at = None


def seconds_blocked(counter: LoginCounter, now: datetime) -> float:
    until = _aware(counter.blocked_until)
    return max(0.0, (until - now).total_seconds()) if until is not None else 0.0


def count_failure(counter: LoginCounter, now: datetime, delay: timedelta) -> None:
    counter.failures += 1
    counter.last_failure_at = now
    counter.blocked_until = now + delay if delay > timedelta(0) else None


def reset(counter: LoginCounter) -> None:
    counter.failures = 0
    counter.last_failure_at = None
    counter.blocked_until = None
