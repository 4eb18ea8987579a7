"""Which judge should we trust? Every judge's agreement with the human majority, with a
bootstrap interval, and every two judges compared on the pairs both judged.

A judge's agreement is the share of pairs where its verdict equals the human majority (ties
counted: a tie must meet a tie), and without ties (only pairs where both are decisive), the
two setups of the MT-Bench paper. Intervals come from one bootstrap resample of pairs shared
by all judges, so differences between judges are paired. Two judges are compared with the
exact McNemar test (statsmodels) on the pairs where exactly one of them agrees with the
humans: with 0.72 against 0.67 on the same 974 pairs, is the first judge really better?
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, percentile_ci, resample_sums
from sidebyside.analysis.calibration import human_majority
from sidebyside.foundation.enums import Preference


def _hits(
    judges: dict[str, pd.DataFrame], majority: pd.Series
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Arrays of shape (P, J) over the human-rated pairs: judged, agrees, decisive (both the
    judge and the majority name a winner)."""
    pairs = majority.index
    hp = majority.to_numpy()
    judged = np.zeros((len(pairs), len(judges)), dtype=bool)
    agrees = np.zeros_like(judged)
    decisive = np.zeros_like(judged)
    for j, frame in enumerate(judges.values()):
        verdict = frame.drop_duplicates(col.PAIR_ID).set_index(col.PAIR_ID)[col.PREFERENCE]
        jp = verdict.reindex(pairs).to_numpy(dtype=object)
        judged[:, j] = pd.notna(jp)
        agrees[:, j] = judged[:, j] & (jp == hp)
        decisive[:, j] = judged[:, j] & (jp != Preference.TIE) & (hp != Preference.TIE)
    return judged, agrees, decisive


def _mcnemar(only_1: int, only_2: int) -> float | None:
    from statsmodels.stats.contingency_tables import mcnemar

    if only_1 + only_2 == 0:
        return None
    return float(mcnemar([[0, only_1], [only_2, 0]], exact=True).pvalue)


def compare_judges(
    judges: dict[str, pd.DataFrame],
    human: pd.DataFrame,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any] | None:
    """``{"judges": [...], "pairwise": [...]}``, or None without human ratings or judges.

    ``judges`` rows, best agreement first: ``judge, agreement, ci_low, ci_high,
    agreement_no_ties, ci_low_no_ties, ci_high_no_ties, n, n_no_ties``.
    ``pairwise`` rows, one per two judges (the better one first): ``judge_1, judge_2,
    difference`` (agreement of judge_1 minus judge_2 on the pairs both judged), ``ci_low,
    ci_high`` (paired bootstrap), ``only_1, only_2`` (pairs where only that judge agrees with
    the humans), ``p_value`` (exact McNemar), ``n_shared``.
    """
    if human.empty or not judges:
        return None
    majority = human_majority(human)
    judged, agrees, decisive = _hits(judges, majority)
    names = list(judges)
    # Per-pair sums the bootstrap resamples: hits and counts, with and without ties.
    per_pair = np.stack([agrees, judged, agrees & decisive, decisive], axis=-1).astype(float)
    both = judged[:, :, None] & judged[:, None, :]  # (P, J, J): pairs judged by both
    diff = (agrees[:, :, None].astype(float) - agrees[:, None, :]) * both
    boot = boot_diff = None
    if n_boot > 0 and len(majority):
        boot, boot_diff, boot_both = resample_sums(
            [per_pair, diff, both.astype(float)], n_boot=n_boot, seed=seed
        )
    rows = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for j, name in enumerate(names):
            n, n_dec = int(judged[:, j].sum()), int(decisive[:, j].sum())
            row = {
                "judge": name,
                "agreement": agrees[:, j].sum() / n if n else None,
                "ci_low": None,
                "ci_high": None,
                "agreement_no_ties": (agrees[:, j] & decisive[:, j]).sum() / n_dec
                if n_dec
                else None,
                "ci_low_no_ties": None,
                "ci_high_no_ties": None,
                "n": n,
                "n_no_ties": n_dec,
            }
            if boot is not None:
                row["ci_low"], row["ci_high"] = percentile_ci(
                    boot[:, j, 0] / boot[:, j, 1], confidence
                )
                row["ci_low_no_ties"], row["ci_high_no_ties"] = percentile_ci(
                    boot[:, j, 2] / boot[:, j, 3], confidence
                )
            rows.append(row)
        order = {r["judge"]: -1.0 if r["agreement"] is None else r["agreement"] for r in rows}
        pairwise = []
        for i, k in combinations(range(len(names)), 2):
            if order[names[k]] > order[names[i]]:
                i, k = k, i
            shared = both[:, i, k]
            n_shared = int(shared.sum())
            if not n_shared:
                continue
            only_1 = int((agrees[:, i] & ~agrees[:, k] & shared).sum())
            only_2 = int((agrees[:, k] & ~agrees[:, i] & shared).sum())
            low = high = None
            if boot_diff is not None:
                low, high = percentile_ci(boot_diff[:, i, k] / boot_both[:, i, k], confidence)
            pairwise.append(
                {
                    "judge_1": names[i],
                    "judge_2": names[k],
                    "difference": (only_1 - only_2) / n_shared,
                    "ci_low": low,
                    "ci_high": high,
                    "only_1": only_1,
                    "only_2": only_2,
                    "p_value": _mcnemar(only_1, only_2),
                    "n_shared": n_shared,
                }
            )
    rows.sort(key=lambda r: -order[r["judge"]])
    pairwise.sort(key=lambda r: (-order[r["judge_1"]], -order[r["judge_2"]]))
    return {"judges": rows, "pairwise": pairwise}
