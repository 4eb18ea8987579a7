"""What every command group shares: the one place errors become messages and exit codes, and
the command's unit of work."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from sqlmodel import Session
from typer.core import TyperGroup

from sidebyside.foundation.errors import ProviderError, UserError

log = logging.getLogger("sidebyside.errors")

#: Exit code of a user error (bad input, unknown name, missing extra), as for a usage error.
EXIT_USER_ERROR = 2
#: Exit code of a failed provider call and of a bug.
EXIT_FAILURE = 1


def show_error(message: str) -> None:
    """``error: <message>`` on stderr."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


class ErrorReportingGroup(TyperGroup):
    """The root command group. A ``UserError`` from any command is printed as its message
    (exit code 2); a ``ProviderError`` likewise (exit code 1: the provider failed, not the
    user); anything else is a bug: "unexpected error, please report" and its type, with the
    traceback on the ``sidebyside.errors`` logger (stderr unless logging is configured), exit
    code 1. Typer's own exits, aborts and usage errors (its vendored click raises them as
    ``TyperException``) pass through untouched."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except (EOFError, BrokenPipeError):  # click's main reports these itself
            raise
        except UserError as exc:
            show_error(str(exc))
            raise typer.Exit(code=EXIT_USER_ERROR) from None
        except ProviderError as exc:
            show_error(f"judge provider failed: {exc}")
            raise typer.Exit(code=EXIT_FAILURE) from None
        except Exception as exc:  # noqa: BLE001 - the point: a bug is reported as one
            log.error("unexpected error in sidebyside %s", ctx.invoked_subcommand, exc_info=exc)
            show_error(f"unexpected error, please report: {type(exc).__name__}")
            raise typer.Exit(code=EXIT_FAILURE) from None


@contextmanager
def open_session() -> Iterator[Session]:
    """The command's unit of work on the configured database (created or migrated first):
    committed when the block ends, rolled back if anything in it raises."""
    from sidebyside.foundation.db import init_db, unit_of_work

    with unit_of_work(init_db()) as session:
        yield session
