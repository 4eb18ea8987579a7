"""The hand-numbered schema versions 1–7 that came before Alembic, kept as data.

Each version is recorded in ``meta.schema_version``. Version 1 is the first release's schema;
every later version added tables or nullable columns, nothing else (no rename, no drop), so
taking a database from version N to 7 is: add the columns and create the tables of the versions
after N, typed as the frozen version 7 schema (``schema_v7``) has them. Every step is skipped
where it is already done (the old ``init_db`` created every missing table whatever its
version), so a half-migrated database finishes cleanly.
"""

from __future__ import annotations

from dataclasses import dataclass

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, inspect, text
from sqlalchemy.engine import Connection

from sidebyside.foundation.migrations.schema_v7 import metadata as v7

#: The last hand-numbered version, recorded in every database this code opens. Never bumped
#: again: a schema change is an Alembic revision (``alembic_version`` says which).
SCHEMA_VERSION = 7


@dataclass(frozen=True)
class Step:
    """What one version added: whole tables, and ``(table, column)`` on existing tables."""

    tables: tuple[str, ...] = ()
    columns: tuple[tuple[str, str], ...] = ()


#: version reached ─► what it added to the version before.
LEGACY_STEPS: dict[int, Step] = {
    2: Step(columns=(("prompt", "category"),)),
    # the login throttle and audit of accounts
    3: Step(tables=("auditevent",)),
    # My ratings history, reload-proof logins
    4: Step(tables=("ratingrevision", "loginsession")),
    # a judge's continuous preference (AlpacaEval-style, 1 = A better .. 2 = B better)
    5: Step(columns=(("judgment", "preference"), ("judgeverdict", "preference"))),
    # per-order verdict probabilities from the judge's log-probabilities (as shown)
    6: Step(columns=(("judgment", "p_a"), ("judgment", "p_b"), ("judgment", "p_tie"))),
    # lm-evaluation-harness scores; judge batches and model families came in the same
    # release without a number of their own
    7: Step(tables=("benchmarkresult", "judgebatch", "modelfamily")),
}


def recorded_version(conn: Connection) -> int | None:
    """``meta.schema_version``; None when there is no ``meta`` table (a new database), 0 when
    the table has no such row."""
    if not inspect(conn).has_table("meta"):
        return None
    value = conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar()
    return int(value) if value is not None else 0


def record_version(conn: Connection, version: int) -> None:
    updated = conn.execute(
        text("UPDATE meta SET value = :v WHERE key = 'schema_version'"), {"v": str(version)}
    )
    if updated.rowcount == 0:
        conn.execute(
            text("INSERT INTO meta (key, value) VALUES ('schema_version', :v)"),
            {"v": str(version)},
        )


def apply_steps(conn: Connection, version: int, to: int = SCHEMA_VERSION) -> None:
    """Take a database recorded at ``version`` to ``to`` in the caller's transaction, rows
    untouched, and record ``to``."""
    operations = Operations(MigrationContext.configure(conn))
    for reached in range(version + 1, to + 1):
        step = LEGACY_STEPS.get(reached, Step())
        for name in step.tables:
            v7.tables[name].create(conn, checkfirst=True)
        for table, column in step.columns:
            present = {c["name"] for c in inspect(conn).get_columns(table)}
            if column not in present:
                # a fresh, nullable copy: the frozen column belongs to its table
                operations.add_column(table, Column(column, v7.tables[table].c[column].type))
    record_version(conn, to)
