"""What every command group shares: the error exit and the command's unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlmodel import Session


def fail(message: str) -> typer.Exit:
    """Print an error to stderr and return the exit to raise (exit code 1)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@contextmanager
def open_session() -> Iterator[Session]:
    """The command's unit of work on the configured database (created or migrated first):
    committed when the block ends, rolled back if anything in it raises (``fail`` too)."""
    from sidebyside.foundation.db import init_db, unit_of_work

    with unit_of_work(init_db()) as session:
        yield session
