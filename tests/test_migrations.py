"""Alembic migrations: a new database at the head, databases of every version before Alembic
upgraded in place with their rows (a version 1 fixture), the models and the revisions kept
equal (autogenerate's comparison), concurrent starts, and the ``db`` commands."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, MetaData, String, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from sidebyside.foundation import migrations
from sidebyside.foundation.db import (
    SCHEMA_LOCK_KEY,
    get_engine,
    init_db,
    load_tables,
    schema_version,
)
from sidebyside.foundation.errors import ConfigError
from sidebyside.foundation.migrations import legacy
from sidebyside.foundation.migrations.schema_v7 import metadata as v7
from sidebyside.foundation.models import Judgment, Prompt, Rating, User

FIXTURES = Path(__file__).parent / "fixtures"
#: The tables of version 1 and the rows rows_v1.sql puts in each.
V1_ROWS = {
    "meta": 1,
    "study": 1,
    "user": 3,
    "invite": 1,
    "system": 2,
    "prompt": 2,
    "output": 4,
    "pair": 2,
    "assignment": 3,
    "rating": 1,
    "judgment": 2,
    "judgeverdict": 1,
    "perplexityrun": 1,
    "metricresult": 1,
}


def run_sql(conn: Connection, path: Path) -> None:
    """Every statement of a .sql file (statements end with ';' at the end of a line)."""
    for chunk in re.split(r";\s*$", path.read_text(encoding="utf-8"), flags=re.MULTILINE):
        lines = [line for line in chunk.splitlines() if not line.lstrip().startswith("--")]
        if "\n".join(lines).strip():
            conn.exec_driver_sql("\n".join(lines))


def load_version_1(engine: Engine) -> None:
    """The fixture: schema version 1 as that release made it on this backend, and its rows."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET TIME ZONE 'UTC'")
        run_sql(conn, FIXTURES / f"schema_v1.{conn.dialect.name}.sql")
        run_sql(conn, FIXTURES / "rows_v1.sql")


def row_counts(engine: Engine, tables) -> dict[str, int]:
    quote = engine.dialect.identifier_preparer.quote
    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {quote(t)}")).scalar() for t in tables}


def drift(engine: Engine, metadata: MetaData = SQLModel.metadata) -> list:
    """What autogenerate would write into a new revision: the models against the database."""
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def revision_of(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return migrations.current(conn)


@pytest.fixture
def bare(db_url: str) -> Engine:
    """The test's database, empty (no init_db)."""
    load_tables()
    return get_engine(db_url)


def test_the_fixture_is_version_1(bare):
    load_version_1(bare)
    assert set(inspect(bare).get_table_names()) == set(V1_ROWS)
    assert "category" not in {c["name"] for c in inspect(bare).get_columns("prompt")}
    assert row_counts(bare, V1_ROWS) == V1_ROWS


def test_a_version_1_database_upgrades_with_its_rows(bare):
    load_version_1(bare)
    init_db(bare)
    assert revision_of(bare) == (migrations.head(),)
    assert drift(bare) == []
    # the tables of version 7 and those later revisions added (SQLModel's metadata)
    assert set(inspect(bare).get_table_names()) == set(SQLModel.metadata.tables) | {
        "alembic_version"
    }
    # every row kept; the tables of later versions there and empty
    assert row_counts(bare, V1_ROWS) == V1_ROWS
    assert set(row_counts(bare, set(v7.tables) - set(V1_ROWS)).values()) == {0}
    with Session(bare) as s:
        assert schema_version(s) == legacy.SCHEMA_VERSION
        (rating,) = s.exec(select(Rating)).all()
        assert (rating.preference, rating.scores, rating.swapped) == (
            "b",
            {"Accuracy": {"a": 1, "b": 5}},
            True,
        )
        assert rating.created_at.isoformat() == "2026-11-20T10:00:42+00:00"
        assert {(p.external_id, p.category) for p in s.exec(select(Prompt))} == {
            ("p1", None),
            ("p2", None),
        }
        judgments = s.exec(select(Judgment).order_by(Judgment.order)).all()
        assert [(j.order, j.winner, j.preference, j.p_a) for j in judgments] == [
            ("ab", "b", None, None),
            ("ba", "b", None, None),
        ]
        # the upgraded database takes new rows (PostgreSQL's id sequences carry on)
        s.add(User(username="new", role="annotator"))
        s.commit()
        assert s.exec(select(User.id).where(User.username == "new")).one() == 4


@pytest.mark.parametrize("version", range(2, legacy.SCHEMA_VERSION + 1))
def test_every_version_before_alembic_upgrades_in_place(bare, version):
    """A database at version N (the fixture taken there by the steps as they were released)
    finishes the later steps, is stamped and reaches the head."""
    load_version_1(bare)
    with bare.begin() as conn:
        legacy.apply_steps(conn, 1, to=version)
        assert legacy.recorded_version(conn) == version
    assert "alembic_version" not in inspect(bare).get_table_names()
    init_db(bare)
    assert revision_of(bare) == (migrations.head(),)
    assert drift(bare) == []
    assert row_counts(bare, V1_ROWS) == V1_ROWS


def test_the_legacy_steps_add_up_to_version_7():
    """Version 1's tables plus every table a step added are version 7's tables, and every
    column a step added is typed in the frozen schema."""
    added = {t for step in legacy.LEGACY_STEPS.values() for t in step.tables}
    assert set(V1_ROWS) | added == set(v7.tables)
    for step in legacy.LEGACY_STEPS.values():
        for table, column in step.columns:
            assert v7.tables[table].c[column].nullable


def test_a_new_database_starts_at_the_head(engine):
    assert revision_of(engine) == (migrations.head(),)
    with Session(engine) as s:
        assert schema_version(s) == legacy.SCHEMA_VERSION
    assert drift(engine) == []
    init_db(engine)  # again: nothing to do, still one version row
    assert row_counts(engine, ["alembic_version"]) == {"alembic_version": 1}


def test_the_revisions_build_what_the_models_describe(bare):
    """The drift check: run every revision on an empty database (not the create_all
    shortcut), then autogenerate's comparison with the models finds nothing to add."""
    with bare.connect() as conn:
        command.upgrade(migrations.config(conn), "head")
        conn.commit()
    assert revision_of(bare) == (migrations.head(),)
    assert drift(bare) == []
    with Session(bare) as s:
        assert schema_version(s) == legacy.SCHEMA_VERSION


def test_a_model_change_without_a_revision_is_caught(engine):
    planted = MetaData()
    for table in SQLModel.metadata.sorted_tables:
        table.to_metadata(planted)
    planted.tables["prompt"].append_column(Column("planted", String(10)))
    diffs = drift(engine, planted)
    assert [(d[0], d[2], d[3].name) for d in diffs] == [("add_column", "prompt", "planted")]


def test_a_database_at_an_unknown_revision_is_refused(engine):
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    with pytest.raises(ConfigError, match="revision f00d, which this sidebyside does not know"):
        init_db(engine)


def test_upgrade_stops_at_a_given_revision(bare):
    """An empty database upgraded to a revision other than the head runs the revisions."""
    from sidebyside.foundation.db import migrate

    migrate(bare, migrations.BASELINE)
    assert revision_of(bare) == (migrations.BASELINE,)
    assert set(inspect(bare).get_table_names()) == set(v7.tables) | {"alembic_version"}


def test_a_database_at_the_head_opens_without_the_schema_lock(engine):
    """Every command and login calls init_db: at the head it only reads, so it never waits
    behind a writer or another server holding the lock."""
    holder = engine.connect()
    if engine.dialect.name == "postgresql":
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    else:
        holder.connection.dbapi_connection.execute("BEGIN IMMEDIATE")
    opened = threading.Event()
    worker = threading.Thread(target=lambda: (init_db(engine), opened.set()))
    worker.start()
    try:
        assert opened.wait(timeout=20), "init_db waited for the schema lock"
    finally:
        if engine.dialect.name == "postgresql":
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
        holder.rollback()
        holder.close()
        worker.join()


_START = """
import sys
from sidebyside.foundation.db import get_engine, init_db
engine = get_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
init_db(engine)
print("done", flush=True)
"""


@pytest.mark.slow  # two processes
def test_two_processes_starting_at_once_both_get_the_schema(bare, db_url):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _START, db_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:  # both imported and connected: let them go together
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0 and out.strip() == "done", err
    assert row_counts(bare, ["alembic_version", "meta"]) == {"alembic_version": 1, "meta": 1}
    assert revision_of(bare) == (migrations.head(),)


# --- the commands

runner = CliRunner()


def invoke(*args: str):
    from sidebyside.cli.main import app

    return runner.invoke(app, list(args))


def test_db_current_upgrade_and_history(bare):
    load_version_1(bare)
    before = invoke("db", "current")
    assert before.exit_code == 0, before.output
    assert "schema version 1 from before Alembic" in before.output
    upgraded = invoke("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"revision: {migrations.head()} (head)" in upgraded.output
    assert row_counts(bare, V1_ROWS) == V1_ROWS
    history = invoke("db", "history")
    assert history.exit_code == 0
    assert f"{migrations.head()} (head)  " in history.output
    assert f"{migrations.BASELINE}  The whole schema as version 7" in history.output


def test_db_current_on_an_empty_database_changes_nothing(bare):
    result = invoke("db", "current")
    assert result.exit_code == 0 and "the database is empty" in result.output
    assert inspect(bare).get_table_names() == []


def test_db_upgrade_to_an_unknown_revision_is_a_user_error(bare):
    result = invoke("db", "upgrade", "--revision", "nope")
    assert result.exit_code == 2
    assert "--revision nope: Can't locate revision identified by 'nope'" in result.output


def test_db_revision_writes_the_next_revision(tmp_path, monkeypatch):
    """In a copy of the scripts: the models equal the revisions, so the new revision (the
    number after the head) changes nothing."""
    head = migrations.head()
    following = f"{int(head) + 1:04d}"
    copy = tmp_path / "migrations"
    shutil.copytree(migrations.SCRIPT_LOCATION, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migrations, "SCRIPT_LOCATION", copy)
    migrations.scripts.cache_clear()
    try:
        result = invoke("db", "revision", "-m", "nothing yet")
        assert result.exit_code == 0, result.output
        (written,) = (copy / "versions").glob(f"{following}_*.py")
        assert written.name == f"{following}_nothing_yet.py"
        source = written.read_text()
        assert f'down_revision: str | None = "{head}"' in source  # formatted by ruff
        assert "op." not in source  # nothing to do
        lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", written])
        assert lint.returncode == 0
    finally:
        migrations.scripts.cache_clear()
