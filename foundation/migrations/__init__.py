"""Schema migrations: Alembic revisions after seven hand-numbered versions.

How a database is brought to a revision (``upgrade``, run by ``init_db`` and
``sidebyside db upgrade`` in one transaction that holds the schema lock, see
``foundation.db.migrate``):

- **New database** (no ``meta`` table, no ``alembic_version``): to the head, the models'
  tables are created at once and the database is stamped with the head revision (Alembic's
  recipe for a new database; the drift test keeps the models and the revisions equal). To any
  other revision, the revisions run from the first one.
- **Made by a release before Alembic** (``meta.schema_version`` 1–7, no ``alembic_version``):
  ``legacy`` adds the tables and columns of the versions after its own (rows untouched), then
  the database is stamped with ``0001``, the revision that creates version 7, and upgraded
  from there. A ``meta.schema_version`` below 7 is always finished this way first, whatever
  ``alembic_version`` says.
- **Under Alembic**: the revisions after its ``alembic_version`` run.
- A database newer than this code (``meta.schema_version`` above 7, or a revision this code
  does not know) is refused with ``ConfigError``: upgrade sidebyside.

``meta.schema_version`` stays at 7 from here on (``schema_version(session)`` reads it); which
Alembic revision a database is at is in ``alembic_version`` (``sidebyside db current``).

Adding a revision: change ``foundation/models.py``, then ``sidebyside db revision -m "what"``
writes ``versions/NNNN_what.py`` from autogenerate's comparison of the models with the
revisions so far; read it, fix what autogenerate cannot know (renames, data moves), and commit
it with the model change. ``tests/test_migrations.py`` fails while the two disagree. Revisions
run inside the one transaction, also on SQLite (``render_as_batch`` rebuilds a table to alter
it; foreign keys stay on, so rebuilding a table that others reference needs care).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from sidebyside.foundation.errors import ConfigError, InputError
from sidebyside.foundation.migrations import legacy

#: The revision that creates version 7: where a database from before Alembic is stamped.
BASELINE = "0001"
#: The folder of ``env.py``, ``script.py.mako`` and ``versions/``.
SCRIPT_LOCATION = Path(__file__).parent


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, made in code (no alembic.ini): the scripts in this package,
    and the connection ``env.py`` migrates on."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPT_LOCATION))
    cfg.set_main_option("path_separator", "os")
    cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=1)
def scripts() -> ScriptDirectory:
    """The revisions shipped with this code (read once per process)."""
    return ScriptDirectory.from_config(config())


def head() -> str:
    found = scripts().get_current_head()
    assert found is not None  # versions/ always holds the baseline
    return found


def history() -> list[Script]:
    """Every revision, newest first."""
    return list(scripts().walk_revisions())


def current(conn: Connection) -> tuple[str, ...]:
    """The revisions recorded in ``alembic_version``; empty before Alembic."""
    return MigrationContext.configure(conn).get_current_heads()


def _refuse_newer(version: int | None, revisions: tuple[str, ...]) -> None:
    if version is not None and version > legacy.SCHEMA_VERSION:
        raise ConfigError(
            f"database schema version {version} is newer than this sidebyside "
            f"({legacy.SCHEMA_VERSION}); upgrade sidebyside"
        )
    known = {script.revision for script in history()}
    unknown = [r for r in revisions if r not in known]
    if unknown:
        raise ConfigError(
            f"database is at schema revision {', '.join(unknown)}, which this sidebyside does "
            f"not know (newest here: {head()}); upgrade sidebyside"
        )


def at_head(conn: Connection) -> bool:
    """Whether there is nothing to do (read only: the check ``init_db`` makes before it
    takes the schema lock)."""
    return legacy.recorded_version(conn) == legacy.SCHEMA_VERSION and current(conn) == (head(),)


def upgrade(conn: Connection, revision: str = "head") -> None:
    """Bring the database on ``conn`` to ``revision`` (see the module docstring), in the
    caller's transaction: the caller holds the schema lock and commits."""
    version = legacy.recorded_version(conn)
    revisions = current(conn)
    _refuse_newer(version, revisions)
    if version is None and not revisions:
        if revision in ("head", head()):
            SQLModel.metadata.create_all(conn)
            legacy.record_version(conn, legacy.SCHEMA_VERSION)
            MigrationContext.configure(conn).stamp(scripts(), "head")
            return
    else:
        if version is not None and version < legacy.SCHEMA_VERSION:
            legacy.apply_steps(conn, version)
        if not revisions:
            MigrationContext.configure(conn).stamp(scripts(), BASELINE)
    command.upgrade(config(conn), revision)


def new_revision(message: str) -> str:
    """Write the next revision (``versions/NNNN_<message>.py``), autogenerated from what the
    models have and the revisions do not: the revisions are run on a scratch SQLite database
    and compared with the models. Returns the file's path. For a checkout, not an install."""
    if not message.strip():
        raise InputError("a revision needs a message (-m) saying what it changes")
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        command.upgrade(config(conn), "head")
        cfg = config(conn)
        # the file as the project's linter and formatter want it (ruff: the dev extra)
        cfg.set_section_option("post_write_hooks", "hooks", "fix, format")
        for hook, options in (("fix", "check --fix --quiet"), ("format", "format --quiet")):
            cfg.set_section_option("post_write_hooks", f"{hook}.type", "module")
            cfg.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
            cfg.set_section_option(
                "post_write_hooks", f"{hook}.options", f"{options} REVISION_SCRIPT_FILENAME"
            )
        script = command.revision(
            cfg, message=message, autogenerate=True, rev_id=f"{int(head()) + 1:04d}"
        )
    engine.dispose()
    scripts.cache_clear()
    assert isinstance(script, Script)  # one revision, never a list here
    return script.path
