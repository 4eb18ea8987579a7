"""Small helpers the metrics and benchmark commands share: option parsing and output."""

from __future__ import annotations

import math
from typing import Any

import typer

from sidebyside.cli.common import open_session
from sidebyside.foundation.errors import InputError


def echo_err(message: str) -> None:
    """Progress and notes go to stderr, so ``--json`` output on stdout stays clean."""
    typer.echo(message, err=True)


def parse_batch_size(value: str) -> int | str:
    """``--batch-size``: a positive integer or ``auto``."""
    if value == "auto":
        return value
    try:
        size = int(value)
    except ValueError:
        size = 0
    if size < 1:
        raise InputError(f"--batch-size must be a positive integer or 'auto', got {value!r}")
    return size


def json_safe(value: Any) -> Any:
    """A value JSON can carry: NaN and infinities become null."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def resolve_study_id(ref: str) -> int:
    """The id of the study named or numbered ``ref`` (``NotFound`` if there is none)."""
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        return get_study(session, ref).id
