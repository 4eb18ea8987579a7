"""Agreement with the human majority before and after a change of the judge (``judge-align``),
on the same pairs: the difference with a paired bootstrap interval (pairs resampled, both
figures from the same resample: the one bootstrap of analysis/bootstrap.py) and McNemar's exact
test on the pairs where exactly one of the two agrees (statsmodels).

>>> before = np.array([1, 1, 0, 0, 0, 1, 0, 0], dtype=bool)
>>> after = np.array([1, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
>>> r = paired_agreement(before, after, n_boot=200, seed=0)
>>> r["n"], r["before"], r["after"], r["only_after"], r["only_before"], round(r["p_value"], 4)
(8, 0.375, 0.875, 4, 0, 0.125)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, percentile_ci, resample_sums


def paired_agreement(
    before: np.ndarray,
    after: np.ndarray,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """``before`` / ``after``: per pair, whether the judge agreed with the human majority
    (bool arrays of one length) -> n, the two rates, the difference with its interval, the
    discordant counts and McNemar's exact p-value."""
    from statsmodels.stats.contingency_tables import mcnemar

    before, after = np.asarray(before, dtype=bool), np.asarray(after, dtype=bool)
    if before.shape != after.shape or before.ndim != 1:
        raise ValueError(f"before and after must be 1-d of one length, got {before.shape} "
                         f"and {after.shape}")  # fmt: skip
    n = int(before.size)
    if n == 0:
        return {"n": 0, "before": None, "after": None, "difference": None, "ci_low": None,
                "ci_high": None, "only_before": 0, "only_after": 0, "p_value": None}  # fmt: skip
    diff = after.astype(float) - before.astype(float)
    (sums,) = resample_sums([diff], n_boot=n_boot, seed=seed)
    lo, hi = percentile_ci(sums / n, confidence)
    only_b, only_a = int((before & ~after).sum()), int((after & ~before).sum())
    both, neither = int((before & after).sum()), int((~before & ~after).sum())
    p = float(mcnemar([[both, only_b], [only_a, neither]], exact=True).pvalue)
    return {
        "n": n,
        "before": float(before.mean()),
        "after": float(after.mean()),
        "difference": float(diff.mean()),
        "ci_low": lo,
        "ci_high": hi,
        "only_before": only_b,
        "only_after": only_a,
        "p_value": p,
    }
