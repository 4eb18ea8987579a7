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
    """The command's session on the configured database (created or migrated first). The
    command commits; an error rolls back whatever it did not commit."""
    from foundation.db import init_db

    with Session(init_db(), expire_on_commit=False) as session:
        yield session
