"""Honest small samples: a figure computed from fewer items than a minimum is shown as
"too few to say (n = …)" instead of a bare number, an interval or a strong label.

A win rate from two prompts reads "100.0% [100.0%, 100.0%]", and an alpha of −0.167 on four
overlapping pairs "systematic disagreement": both say more than the data can. The minimums
are settings: ``SIDEBYSIDE_MIN_PROMPTS`` (win rates, default 10 prompts) and
``SIDEBYSIDE_MIN_OVERLAP`` (agreement, default 20 units rated by at least two people).

>>> too_few(2, 10)
'too few to say (n = 2)'
>>> too_few(12, 10) is None
True
"""

from __future__ import annotations

import os
from typing import Any

MIN_PROMPTS_ENV = "SIDEBYSIDE_MIN_PROMPTS"
MIN_OVERLAP_ENV = "SIDEBYSIDE_MIN_OVERLAP"
DEFAULT_MIN_PROMPTS = 10
DEFAULT_MIN_OVERLAP = 20
#: How every such note starts (what renderers look for).
TOO_FEW = "too few to say"


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    return max(value, 0)


def min_prompts() -> int:
    """Fewest prompts a win rate (and its interval) is shown from."""
    return _setting(MIN_PROMPTS_ENV, DEFAULT_MIN_PROMPTS)


def min_overlap() -> int:
    """Fewest units rated at least twice an agreement figure is shown from."""
    return _setting(MIN_OVERLAP_ENV, DEFAULT_MIN_OVERLAP)


def too_few(n: int | None, minimum: int) -> str | None:
    """The words shown instead of a figure from ``n`` items, or None when ``n`` is enough."""
    if n is None or n >= minimum:
        return None
    return f"{TOO_FEW} (n = {n})"


def too_few_prompts(n: int | None) -> str | None:
    return too_few(n, min_prompts())


def too_few_overlap(n: int | None) -> str | None:
    return too_few(n, min_overlap())


def overlap_cell(value: Any, n: int | None) -> Any:
    """An agreement figure from ``n`` units rated at least twice (or pairs a judge and the
    humans share) as a table shows it: the figure, or the too-few words in its place.

    >>> overlap_cell(1.0, 2)
    'too few to say (n = 2)'
    >>> overlap_cell(0.5, 25)
    0.5
    """
    return too_few_overlap(n) or value


def prompts_cell(value: Any, n: int | None) -> Any:
    """A win rate (or one end of its interval) from ``n`` prompts, likewise."""
    return too_few_prompts(n) or value
