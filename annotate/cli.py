"""The ``sidebyside`` command. Subcommands of other packages register themselves here."""

from __future__ import annotations

import importlib
import importlib.util
import sys

import typer

app = typer.Typer(
    name="sidebyside",
    help="Is the fine-tuned model really better? Blind A/B ratings, LLM judges and metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Modules that define ``register(app: typer.Typer) -> None``.
COMMAND_MODULES = ("annotate.commands", "judge.cli", "judge.metrics_cli", "analysis.cli")


def fail(message: str) -> typer.Exit:
    """Print an error to stderr and return the exit to raise (exit code 1)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(name) is None:  # a package's commands not written yet
            continue
        importlib.import_module(name).register(app)


_register_all()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
