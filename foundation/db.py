"""The only place an engine is made: SQLite pragmas, table creation and schema versioning."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from sidebyside.foundation.settings import get_settings

#: version reached ─► SQL (accepted by SQLite and PostgreSQL) that takes a database there
#: from the version before. Tables that did not exist yet are made by create_all instead, so
#: a version that only adds tables has an empty list. Add a version for every table change.
MIGRATIONS: dict[int, list[str]] = {
    2: ["ALTER TABLE prompt ADD COLUMN category VARCHAR(100)"],
    # the auditevent table (login throttle and audit of accounts); create_all makes it
    3: [],
    # the ratingrevision (My ratings history) and loginsession (reload-proof login) tables
    4: [],
    # a judge's continuous preference (AlpacaEval-style, 1 = A better .. 2 = B better)
    5: [
        "ALTER TABLE judgment ADD COLUMN preference FLOAT",
        "ALTER TABLE judgeverdict ADD COLUMN preference FLOAT",
    ],
    # per-order verdict probabilities from the judge's log-probabilities (as shown)
    6: [
        "ALTER TABLE judgment ADD COLUMN p_a FLOAT",
        "ALTER TABLE judgment ADD COLUMN p_b FLOAT",
        "ALTER TABLE judgment ADD COLUMN p_tie FLOAT",
    ],
    # the benchmarkresult table (lm-evaluation-harness scores); create_all makes it
    7: [],
}

#: The schema this code writes; ``init_db`` records it and ``MIGRATIONS`` bring an older
#: database up to it without touching its rows.
SCHEMA_VERSION = max(MIGRATIONS)


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised via every test
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA busy_timeout={get_settings().sqlite_busy_timeout_ms}")
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


def _sqlite_savepoint_inside_transaction(conn, _name) -> None:
    """pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT sent
    first would open the transaction itself and its RELEASE would commit it, behind the back
    of the unit of work. Open the transaction first; IMMEDIATE because a savepoint is there
    to write, so the write lock is taken now (waiting up to busy_timeout) as an INSERT would."""
    dbapi_conn = conn.connection.dbapi_connection
    if not dbapi_conn.in_transaction:
        turn = conn.engine.__dict__.get("_writer_turn")
        if turn is not None:
            turn.take(conn)  # before SQLite's lock, or two writers could wait on each other
        dbapi_conn.execute("BEGIN IMMEDIATE")


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


def init_db(engine: Engine | None = None) -> Engine:
    """Create missing tables and record the schema version; safe to call repeatedly."""
    from sidebyside.foundation.models import Meta

    engine = engine or get_engine()
    load_tables()
    with Session(engine) as session:
        known = inspect(engine).has_table(Meta.__tablename__)
        meta = session.get(Meta, "schema_version") if known else None
        if meta is not None and int(meta.value) > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema version {meta.value} is newer than this sidebyside "
                f"({SCHEMA_VERSION}); upgrade sidebyside"
            )
    if meta is not None and int(meta.value) < SCHEMA_VERSION:
        migrate(engine, int(meta.value))
    SQLModel.metadata.create_all(engine)
    with unit_of_work(engine) as session:
        if session.get(Meta, "schema_version") is None:
            session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
    return engine


_ADD_COLUMN = re.compile(r"^ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)


def _column_exists(conn, statement: str) -> bool:
    """An ``ADD COLUMN`` whose column is already there (a database that create_all made with
    newer tables than its recorded version) is skipped instead of failing the migration."""
    match = _ADD_COLUMN.match(statement.strip())
    if match is None:
        return False
    table, column = match.groups()
    return column in {c["name"] for c in inspect(conn).get_columns(table)}


def migrate(engine: Engine, version: int) -> None:
    """Bring a database from ``version`` to ``SCHEMA_VERSION`` in one transaction: the
    steps and the new version number land together or not at all."""
    with engine.begin() as conn:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS.get(target, []):
                if not _column_exists(conn, statement):
                    conn.execute(text(statement))
        conn.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION)},
        )


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
