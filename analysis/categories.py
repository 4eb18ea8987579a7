"""Who wins where: win rates per prompt category (coding, writing, ...).

A fine-tuned model often wins on the tasks it was tuned for and loses elsewhere; one overall
win rate hides that. Each category gets the win-rate rows of ``analysis.winrates`` (bootstrap
over the category's prompts), oriented like the overall rows so a table reads one way down.
Prompts without a category form the group ``UNCATEGORISED`` when others have one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis import winrates as wr
from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, stratified_resample_sums
from sidebyside.analysis.headline import decide

UNCATEGORISED = "(no category)"


def flip(row: dict[str, Any]) -> dict[str, Any]:
    """The same win-rate row seen from the other side.

    >>> flip({"system_a": "x", "system_b": "y", "wins_a": 3, "wins_b": 1, "ties": 1,
    ...       "win_rate_a": 0.7, "ci_low": 0.4, "ci_high": 0.9, "boot_ci_low": None,
    ...       "boot_ci_high": None, "prompts_a": 3, "prompts_b": 1})["win_rate_a"]
    0.30000000000000004
    """
    out = dict(row)
    out["system_a"], out["system_b"] = row["system_b"], row["system_a"]
    out["wins_a"], out["wins_b"] = row["wins_b"], row["wins_a"]
    out["prompts_a"], out["prompts_b"] = row.get("prompts_b"), row.get("prompts_a")
    if row.get("win_rate_a") is not None:
        out["win_rate_a"] = 1.0 - row["win_rate_a"]
    for low, high in (("ci_low", "ci_high"), ("boot_ci_low", "boot_ci_high")):
        if row.get(low) is not None and row.get(high) is not None:
            out[low], out[high] = 1.0 - row[high], 1.0 - row[low]
    return out


def by_category(
    votes: pd.DataFrame,
    overall: list[dict[str, Any]] | None,
    *,
    systems: list[str] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[dict[str, Any]] | None:
    """Win-rate rows per category, each with a ``category`` key and the ``winner`` the
    headline's rule names (None: no clear winner), in the orientation of the ``overall``
    rows; None when no prompt has a category."""
    if votes.empty or col.CATEGORY not in votes or votes[col.CATEGORY].isna().all():
        return None
    votes = votes[[col.PROMPT_ID, col.SYSTEM_A, col.SYSTEM_B, col.PREFERENCE, col.CATEGORY]]
    oriented = {(r["system_a"], r["system_b"]) for r in overall or []}
    labels = votes[col.CATEGORY].fillna(UNCATEGORISED)
    order = wr.system_order(votes, systems)
    boots: dict[Any, np.ndarray] = {}
    if n_boot > 0:
        # One stratified resample (prompts within their category) for all categories.
        per_prompt, prompts = wr.per_prompt_wins(votes, order)
        first_label = labels.groupby(votes[col.PROMPT_ID].to_numpy()).first()
        boots = stratified_resample_sums(
            per_prompt, first_label.reindex(prompts).to_numpy(), n_boot=n_boot, seed=seed
        )
    rows = []
    for category in sorted(labels.unique(), key=lambda c: (c == UNCATEGORISED, c)):
        part = votes[labels == category]
        boot = boots.get(category)
        sub = wr.system_order(part, order)  # a category may lack some systems
        if boot is not None and sub != order:
            keep = [order.index(name) for name in sub]
            boot = boot[:, keep][:, :, keep]
        for r in wr.win_rates(part, systems=sub, n_boot=0, confidence=confidence, boot=boot):
            if (r["system_a"], r["system_b"]) not in oriented:
                r = flip(r)
            rows.append({"category": category, **r, "winner": decide(r, confidence)[0]})
    return rows
