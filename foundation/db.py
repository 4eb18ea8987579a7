"""The only place an engine is made: SQLite pragmas, table creation and schema versioning."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine, select

from foundation.settings import get_settings

#: version reached ─► SQL (accepted by SQLite and PostgreSQL) that takes a database there
#: from the version before. Tables that did not exist yet are made by create_all instead, so
#: a version that only adds tables has an empty list. Add a version for every table change.
MIGRATIONS: dict[int, list[str]] = {
    2: ["ALTER TABLE prompt ADD COLUMN category VARCHAR(100)"],
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


def _sqlite_savepoint_inside_transaction(conn, _name) -> None:
    """pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so a SAVEPOINT sent
    first would open the transaction itself and its RELEASE would commit it, behind the back
    of the unit of work. Open the transaction first; IMMEDIATE because a savepoint is there
    to write, so the write lock is taken now (waiting up to busy_timeout) as an INSERT would."""
    dbapi_conn = conn.connection.dbapi_connection
    if not dbapi_conn.in_transaction:
        dbapi_conn.execute("BEGIN IMMEDIATE")


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per database URL per process."""
    url = url or get_settings().database_url
    kwargs: dict = {}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_savepoint_inside_transaction)
    return engine


def load_tables() -> None:
    """Register every table on ``SQLModel.metadata``."""
    import foundation.models  # noqa: F401


def init_db(engine: Engine | None = None) -> Engine:
    """Create missing tables and record the schema version; safe to call repeatedly."""
    from foundation.models import Meta

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


def migrate(engine: Engine, version: int) -> None:
    """Bring a database from ``version`` to ``SCHEMA_VERSION`` in one transaction: the
    steps and the new version number land together or not at all."""
    with engine.begin() as conn:
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS.get(target, []):
                conn.execute(text(statement))
        conn.execute(
            text("UPDATE meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION)},
        )


def schema_version(session: Session) -> int:
    from foundation.models import Meta

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


#: The former name of ``unit_of_work``, kept for the callers that still use it.
session_scope = unit_of_work
