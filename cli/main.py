"""The ``sidebyside`` command: the root Typer app, assembled from each command group.

Command modules define their commands and a ``register(app)``; only this module imports them,
so no command module ever imports this one (no import-time cycle). Commands raise
``foundation.errors`` exceptions and never catch them just to print them: the root group
(``cli.common.ErrorReportingGroup``) turns them into messages and exit codes.
"""

from __future__ import annotations

import sys

import typer

from sidebyside.cli import (
    analysis_cmds,
    annotate_cmds,
    calibrate_cmds,
    card_cmds,
    db_cmds,
    generate_cmd,
    judge_cmds,
    metrics_cmds,
    quality_cmds,
    series_cmd,
    serve_cmd,
)
from sidebyside.cli.common import ErrorReportingGroup

app = typer.Typer(
    name="sidebyside",
    cls=ErrorReportingGroup,
    help="Is the fine-tuned model really better? Blind A/B ratings, LLM judges and metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

groups = (
    annotate_cmds,
    generate_cmd,
    series_cmd,
    judge_cmds,
    calibrate_cmds,
    metrics_cmds,
    analysis_cmds,
    serve_cmd,
    card_cmds,
    db_cmds,
    quality_cmds,
)
for group in groups:
    group.register(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
