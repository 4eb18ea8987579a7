"""The only place an engine is made: SQLite pragmas, and the schema brought up to date under
a lock (the migrations themselves are in ``foundation.migrations``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, create_engine, select

from sidebyside.foundation import migrations
from sidebyside.foundation.settings import get_settings

#: The PostgreSQL advisory lock held while the schema changes (any fixed number; only
#: sidebyside processes on the same database take it).
SCHEMA_LOCK_KEY = 0x5B5_0016


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via every test
    cur = dbapi_conn.cursor()
    # the busy timeout first: switching to WAL takes a lock that a process starting at the same
    # moment may hold, and without the timeout the switch fails at once ("database is locked")
    cur.execute(f"PRAGMA busy_timeout={get_settings().sqlite_busy_timeout_ms}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


class _WriterTurn:
    """One writer at a time per SQLite file in this process, handed over by a Python lock.
    SQLite lets waiting writers poll with growing sleeps (busy_timeout), so with dozens of
    annotators' threads some wait seconds while others get in at once; a lock wakes the next
    waiter as soon as the writer commits. Other processes still meet SQLite's own lock."""

    _WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")

    def __init__(self, timeout_s: float) -> None:
        self.lock = threading.Lock()
        self.timeout_s = timeout_s

    def take(self, conn) -> None:
        if conn.info.get("_writer_turn"):
            return
        if not self.lock.acquire(timeout=self.timeout_s):
            return  # let SQLite's own busy timeout decide, as without this lock
        conn.info["_writer_turn"] = True

    def give_back(self, info: dict) -> None:
        if info.pop("_writer_turn", False):
            self.lock.release()

    def before_execute(self, conn, _cursor, statement, *_args) -> None:
        if statement.lstrip()[:9].upper().startswith(self._WRITES):
            self.take(conn)

    def listen(self, engine: Engine) -> None:
        event.listen(engine, "before_cursor_execute", self.before_execute)
        # after the transaction ends either way; a connection returned to the pool mid-way too
        event.listen(engine, "commit", lambda conn: self.give_back(conn.info))
        event.listen(engine, "rollback", lambda conn: self.give_back(conn.info))
        event.listen(engine.pool, "checkin", lambda _dbapi, record: self.give_back(record.info))


def _sqlite_begin_immediate(conn: Connection) -> None:
    """Open the transaction now with SQLite's write lock (waiting up to busy_timeout), unless
    one is open already."""
    dbapi_conn = conn.connection.dbapi_connection
    if not dbapi_conn.in_transaction:
        turn = conn.engine.__dict__.get("_writer_turn")
        if turn is not None:
            turn.take(conn)  # before SQLite's lock, or two writers could wait on each other
        dbapi_conn.execute("BEGIN IMMEDIATE")


def _sqlite_savepoint_inside_transaction(conn, _name) -> None:
    """pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT sent
    first would open the transaction itself and its RELEASE would commit it, behind the back
    of the unit of work. Open the transaction first; IMMEDIATE because a savepoint is there
    to write, so the write lock is taken now as an INSERT would."""
    _sqlite_begin_immediate(conn)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL per process."""
    url = url or get_settings().database_url
    kwargs: dict = {}
    path = ""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {
            "check_same_thread": False,
            "timeout": get_settings().sqlite_busy_timeout_ms / 1000,
        }
    if not url.startswith("sqlite") or (path and path != ":memory:"):
        # The default pool (5 + 10) runs dry with a few dozen annotators' sessions on threads.
        settings = get_settings()
        kwargs.update(
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            pool_timeout=settings.db_pool_timeout_s,
            pool_pre_ping=not url.startswith("sqlite"),  # a restarted server drops connections
        )
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint_inside_transaction)
        turn = _WriterTurn(get_settings().sqlite_busy_timeout_ms / 1000)
        engine.__dict__["_writer_turn"] = turn
        turn.listen(engine)
    return engine


def load_tables() -> None:
    """Register every table on ``SQLModel.metadata``."""
    import sidebyside.foundation.models  # noqa: F401


def drop_schema(engine: Engine) -> None:
    """Drop every table of the schema, Alembic's version table included, so the next
    ``init_db`` builds it from nothing (a scratch database in tests and benchmarks). Dropping
    the tables but not ``alembic_version`` would leave a database that claims to be current."""
    from sqlmodel import SQLModel

    load_tables()
    with engine.begin() as conn:
        SQLModel.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


def init_db(engine: Engine | None = None) -> Engine:
    """Bring the database to the newest schema: create it, or upgrade it in place with its
    rows. Safe to call repeatedly and from several processes at once."""
    engine = engine or get_engine()
    migrate(engine)
    return engine


def _lock_schema(conn: Connection) -> None:
    """Open the connection's transaction holding the database's schema lock: a second
    process starting at the same moment waits, then finds the work done."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        _sqlite_begin_immediate(conn)


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database to an Alembic ``revision`` (see ``foundation.migrations``) in one
    transaction: every step lands, or none. A database already at the head costs one read
    and no lock."""
    load_tables()
    if revision == "head":
        with engine.connect() as conn:
            if migrations.at_head(conn):
                return
    with engine.connect() as conn:
        _lock_schema(conn)
        migrations.upgrade(conn, revision)
        conn.commit()


def schema_version(session: Session) -> int:
    from sidebyside.foundation.models import Meta

    meta = session.exec(select(Meta).where(Meta.key == "schema_version")).first()
    return int(meta.value) if meta else 0


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """The one way to open a unit of work: a session that commits when the block ends and
    rolls back on any error (all or nothing). Objects stay readable after the commit.

    Only the edges open one (a CLI command, a page or its callback, the judge writer);
    services take the session and never commit. A service that must survive a lost race
    (a unique key taken by someone else) wraps its write in ``session.begin_nested()``.
    """
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
