"""Prediction-powered win rates: the humans' win rate, sharpened by a judge's verdicts.

Prediction-powered inference (Angelopoulos et al. 2023) with PPI++ power tuning
(Angelopoulos, Duchi & Zrnic 2023), as the ``ppi-python`` package implements it. Per judge and
system pair the *items* are that system pair's pairs: ``Y`` is the human verdict on a pair,
the mean over its annotators of 1 / ½ / 0 for ``system_a`` winning / a tie / losing (ties as
half, as in ``analysis.winrates``); ``Ŷ`` is the judge's verdict on the same pair, scored the
same way. PPI needs one labelled ``Y`` per independent item, so a pair's ratings are averaged
rather than counted as separate items (they share the pair, and the judge has one verdict for
all of them). The labelled set is the pairs both rated by humans and judged; the unlabelled
set is the other pairs of the system pair the judge gave a verdict on. Human-rated pairs the
judge did not judge are left out (they have no ``Ŷ``).

The estimate is ``λ·mean(Ŷ unlabelled) + mean(Y − λ·Ŷ labelled)``: the judge's bias is
measured on the labelled pairs and taken out, so the interval stays valid for a biased judge;
``λ`` (PPI++) is tuned from the data so the interval is never much wider than humans alone
and narrower the more the judge agrees with the humans. It estimates the pair-weighted human
win rate (each pair counts once), which is the report's ``win_rate_a`` when every pair has the
same number of ratings. It assumes the human-rated pairs are a random subset of the judged
ones (the study's random assignment, not pairs picked by what the judge said), and its
interval is a normal approximation (as the package's).

>>> y, yhat = np.array([1.0, 0.0, 1.0, 0.5]), np.array([1.0, 0.0, 0.0, 0.5])
>>> r = ppi_win_rate(y, yhat, np.array([1.0, 1.0, 0.0, 1.0]), lam=1.0)
>>> r["win_rate_a"]  # 0.75 (judge, unlabelled) + 0.25 (the judge's bias on the labelled)
1.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.foundation.enums import Preference

_SCORE = {Preference.A: 1.0, Preference.TIE: 0.5, Preference.B: 0.0}

NO_HUMANS = "no human ratings in the study"
NO_OVERLAP = "no pair of this system pair was both rated by humans and judged"
TOO_FEW = "only one pair of this system pair was both rated by humans and judged"
NOTHING_TO_ADD = "the judge judged no pair of this system pair beyond those humans rated"


def _absent(n_human: int, n_judge: int, reason: str) -> dict[str, Any]:
    return {
        "win_rate_a": None,
        "ci_low": None,
        "ci_high": None,
        "n_human": n_human,
        "n_judge": n_judge,
        "n_effective": None,
        "reason": reason,
    }


def ppi_win_rate(
    y: np.ndarray,
    yhat: np.ndarray,
    yhat_unlabelled: np.ndarray,
    *,
    confidence: float = 0.95,
    lam: float | None = None,
) -> dict[str, Any]:
    """The prediction-powered mean of ``y`` (human verdicts on the labelled pairs) given the
    judge's ``yhat`` on them and ``yhat_unlabelled`` on the other pairs: ``win_rate_a,
    ci_low, ci_high`` (clipped to [0, 1]), ``n_human, n_judge, n_effective, reason``.
    ``lam=None`` is PPI++'s tuned λ; 1 is plain PPI, 0 humans alone.

    ``n_effective`` is the number of human-rated pairs a humans-only interval (the classical
    normal one) would need to be as narrow: ``n_human · (humans-only width / PPI width)²``."""
    from ppi_py import classical_mean_ci, ppi_mean_ci, ppi_mean_pointestimate

    y, yhat = np.asarray(y, dtype=float), np.asarray(yhat, dtype=float)
    yhat_unlabelled = np.asarray(yhat_unlabelled, dtype=float)
    n, n_judge = len(y), len(yhat) + len(yhat_unlabelled)
    if len(yhat) != n:
        raise ValueError(f"y and yhat differ in length ({n} and {len(yhat)})")
    if n == 0:
        return _absent(0, n_judge, NO_OVERLAP)
    if n == 1:
        return _absent(1, n_judge, TOO_FEW)
    if len(yhat_unlabelled) == 0:
        return _absent(n, n_judge, NOTHING_TO_ADD)
    if lam is None and np.ptp(np.concatenate([yhat, yhat_unlabelled])) == 0:
        lam = 0.0  # a judge with one verdict for everything carries nothing (λ's 0/0)
    alpha = 1.0 - confidence
    estimate = float(np.ravel(ppi_mean_pointestimate(y, yhat, yhat_unlabelled, lam=lam))[0])
    interval = ppi_mean_ci(y, yhat, yhat_unlabelled, alpha=alpha, lam=lam)
    low, high = (float(np.ravel(x)[0]) for x in interval)
    c_low, c_high = classical_mean_ci(y, alpha=alpha)
    width, classical = high - low, float(c_high - c_low)
    n_eff = round(n * (classical / width) ** 2) if width > 0 and classical > 0 else None
    return {
        "win_rate_a": estimate,
        "ci_low": max(0.0, low),
        "ci_high": min(1.0, high),
        "n_human": n,
        "n_judge": n_judge,
        "n_effective": n_eff,
        "reason": None,
    }


def pair_scores(votes: pd.DataFrame) -> pd.DataFrame:
    """Per pair (indexed by pair_id, sorted): its stored ``system_a`` and ``system_b`` and
    ``score``, the mean over its votes of 1 / ½ / 0 for the stored A winning / tying / losing.
    Computed once per source, then read per system pair (``oriented``)."""
    frame = pd.DataFrame(
        {
            col.SYSTEM_A: votes[col.SYSTEM_A].to_numpy(),
            col.SYSTEM_B: votes[col.SYSTEM_B].to_numpy(),
            "score": votes[col.PREFERENCE].map(_SCORE).to_numpy(dtype=float),
        },
        index=pd.Index(votes[col.PAIR_ID].to_numpy(), name=col.PAIR_ID),
    )
    by_pair = frame.groupby(level=0)
    first = by_pair[[col.SYSTEM_A, col.SYSTEM_B]].first()  # a pair's votes share its order
    # categories: each system pair's lookup compares integer codes, not strings
    return first.astype("category").assign(score=by_pair["score"].mean())


def oriented(scores: pd.DataFrame, system_a: str, system_b: str) -> pd.Series:
    """The pairs of one system pair from ``pair_scores``: the score of ``system_a``,
    whichever way round each pair is stored."""
    sa, sb = scores[col.SYSTEM_A], scores[col.SYSTEM_B]
    mine = scores[((sa == system_a) & (sb == system_b)) | ((sa == system_b) & (sb == system_a))]
    as_stored = (mine[col.SYSTEM_A] == system_a).to_numpy()
    score = mine["score"].to_numpy()
    return pd.Series(np.where(as_stored, score, 1.0 - score), index=mine.index)


def ppi_for_rows(
    rows: list[dict[str, Any]],
    judge: pd.DataFrame,
    human: pd.DataFrame,
    *,
    confidence: float = 0.95,
) -> list[dict[str, Any]]:
    """A judge's win-rate rows (``analysis.winrates.win_rates``) each with ``ppi``: the
    prediction-powered human win rate of the row's ``system_a`` (``ppi_win_rate``), or its
    figures null with a ``reason`` (no human ratings, no overlap, nothing to add)."""
    judge_scores, human_scores = pair_scores(judge), pair_scores(human)
    out = []
    for row in rows:
        a, b = row["system_a"], row["system_b"]
        judged = oriented(judge_scores, a, b)
        if human.empty:
            ppi = _absent(0, len(judged), NO_HUMANS)
        else:
            rated = oriented(human_scores, a, b)
            labelled = judged.index.intersection(rated.index)
            ppi = ppi_win_rate(
                rated.loc[labelled].to_numpy(),
                judged.loc[labelled].to_numpy(),
                judged.drop(labelled).to_numpy(),
                confidence=confidence,
            )
        out.append({**row, "ppi": ppi})
    return out
