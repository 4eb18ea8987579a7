"""The Results page's win-rate tables, honest about small samples (``analysis.small_samples``):
a pair of systems compared on too few prompts shows "too few to say (n = …)" instead of its
win rate and intervals."""

from __future__ import annotations

import pandas as pd

from sidebyside.analysis.report_models import HumanAgreement
from sidebyside.analysis.report_rows import WinRate
from sidebyside.analysis.small_samples import (
    MIN_OVERLAP_ENV,
    min_overlap,
    min_prompts,
    too_few_overlap,
    too_few_prompts,
)

_FIGURES = ("win_rate_a", "ci_low", "ci_high", "boot_ci_low", "boot_ci_high")


def small_sample_frame(rows: list[WinRate]) -> pd.DataFrame:
    """The win-rate rows as a table, figures blanked where too few prompts back them, with
    a ``note`` column saying so."""
    records = []
    for r in rows:
        record = r.model_dump()
        few = too_few_prompts(r.n_prompts)
        if few:
            for key in _FIGURES:
                if key in record:
                    record[key] = None
        records.append({"note": few or "", **record})
    return pd.DataFrame(records)


def too_few_note(rows: list[WinRate]) -> str | None:
    """A line under the win-rate chart naming the pairs whose bars rest on too few prompts."""
    few = [f"{r.system_a} vs {r.system_b}" for r in rows if too_few_prompts(r.n_prompts)]
    if not few:
        return None
    n = sorted({r.n_prompts for r in rows if too_few_prompts(r.n_prompts)})
    return (
        f"{', '.join(few)}: too few to say (n = {', '.join(map(str, n))} prompts; at least "
        f"{min_prompts()} needed, SIDEBYSIDE_MIN_PROMPTS). The bars show what was seen, "
        "not a result."
    )


def agreement_note(agr: HumanAgreement) -> str | None:
    """A warning above the human agreement figures when fewer pairs than the minimum were
    rated by at least two annotators: alpha, the kappas and percent agreement (as stored and
    swap-symmetric, counted by pairs) are then no evidence either way."""
    few = too_few_overlap(agr.n_overlap)
    if few is None:
        return None
    return (
        f"Agreement: {few} pairs rated by at least two annotators; at least {min_overlap()} "
        f"needed ({MIN_OVERLAP_ENV}). The agreement figures below show what was seen, not "
        "evidence of agreement or disagreement."
    )
