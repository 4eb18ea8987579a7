"""Is a confident judge right? Calibration of a judge's continuous preference against the
human majority.

Input: one row per pair with ``p_b`` (the judge's probability that output b is preferred,
ties counted half, from both orders' log-probabilities) and ``human`` (the human majority,
``"a" | "b" | "tie"``). Pairs whose human majority is a tie have no right answer for a
two-sided probability and are left out (counted in ``n_human_ties``).

- The judge's call is b when ``p_b > 0.5`` and a when below; its confidence is
  ``max(p_b, 1 - p_b)`` in [0.5, 1]. A call of exactly 0.5 is a coin flip: half right.
- **ECE** (expected calibration error, top-label, Guo et al. 2017): confidences fall in
  ``n_bins`` equal-width bins over [0.5, 1]; ECE = sum over bins of (count / n) *
  |agreement - mean confidence|. Every bin is reported with its count (empty bins too), which
  is the reliability diagram's data.
- **Brier score**: mean of (p_b - y)^2 with y = 1 when humans prefer b, 0 for a
  0 is perfect; always answering 0.5 scores 0.25.
- **Agreement by confidence**: among calls at least t sure, how often humans agree (do its
  90%-sure calls agree with humans 90% of the time?).

>>> import pandas as pd
>>> df = pd.DataFrame({"p_b": [0.95, 0.85, 0.25, 0.6], "human": ["b", "a", "a", "tie"]})
>>> c = judge_calibration(df, n_bins=5)
>>> c.n, c.n_human_ties, round(c.brier, 4), round(c.ece, 4)
(3, 1, 0.2625, 0.3833)
>>> [(b.count, b.agreement) for b in c.bins]
[(0, None), (0, None), (1, 1.0), (1, 0.0), (1, 1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.foundation.enums import Preference, VerdictSource

DEFAULT_BINS = 5
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class ReliabilityBin:
    lo: float
    hi: float
    count: int
    #: Mean confidence and human agreement of the calls in the bin (None when empty).
    confidence: float | None
    agreement: float | None


@dataclass(frozen=True)
class ConfidenceLevel:
    """Calls at least ``threshold`` sure: how many, and how often humans agree."""

    threshold: float
    count: int
    agreement: float | None


@dataclass(frozen=True)
class Calibration:
    n: int
    n_human_ties: int
    ece: float | None
    brier: float | None
    mean_confidence: float | None
    agreement: float | None
    bins: list[ReliabilityBin] = field(default_factory=list)
    by_confidence: list[ConfidenceLevel] = field(default_factory=list)


def _prepared(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    missing = {"p_b", "human"} - set(df.columns)
    if missing:
        raise ValueError(f"calibration needs columns p_b and human; missing {sorted(missing)}")
    df = df.dropna(subset=["p_b", "human"])
    p = df["p_b"].to_numpy(dtype=float)
    if len(p) and (p.min() < 0 or p.max() > 1):
        raise ValueError(f"p_b must lie in [0, 1], got values from {p.min()} to {p.max()}")
    human = df["human"].astype(str).to_numpy()
    bad = sorted(set(human) - set(Preference))
    if bad:
        raise ValueError(f"human must be 'a', 'b' or 'tie', got {bad[:3]}")
    decisive = human != Preference.TIE
    return p[decisive], (human[decisive] == Preference.B).astype(float), int((~decisive).sum())


def judge_calibration(
    df: pd.DataFrame, *, n_bins: int = DEFAULT_BINS, thresholds=THRESHOLDS
) -> Calibration:
    """ECE, Brier score, reliability bins and agreement by confidence (see module doc)."""
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1, got {n_bins}")
    p, y, ties = _prepared(df)
    n = len(p)
    if n == 0:
        return Calibration(n=0, n_human_ties=ties, ece=None, brier=None, mean_confidence=None,
                           agreement=None)  # fmt: skip
    conf = np.maximum(p, 1 - p)
    # Right = the call's side matches the humans; a 0.5 call is half right.
    right = np.where(p == 0.5, 0.5, ((p > 0.5) == (y == 1)).astype(float))
    edges = np.linspace(0.5, 1.0, n_bins + 1)
    # Bins are [lo, hi) except the last, which holds confidence 1.0 too.
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, n_bins - 1)
    bins, ece = [], 0.0
    for i in range(n_bins):
        mask = index == i
        count = int(mask.sum())
        if count:
            mean_conf, agree = float(conf[mask].mean()), float(right[mask].mean())
            ece += count / n * abs(agree - mean_conf)
        else:
            mean_conf = agree = None
        bins.append(ReliabilityBin(float(edges[i]), float(edges[i + 1]), count, mean_conf, agree))
    levels = []
    for t in thresholds:
        mask = conf >= t
        count = int(mask.sum())
        levels.append(
            ConfidenceLevel(float(t), count, float(right[mask].mean()) if count else None)
        )
    return Calibration(
        n=n,
        n_human_ties=ties,
        ece=float(ece),
        brier=float(np.mean((p - y) ** 2)),
        mean_confidence=float(conf.mean()),
        agreement=float(right.mean()),
        bins=bins,
        by_confidence=levels,
    )


def calibration_frame(judge: pd.DataFrame, human: pd.DataFrame) -> pd.DataFrame:
    """One judge's verdict rows (``pair_id``, ``preference_score`` on AlpacaEval's 1..2 scale)
    and the human rating rows -> ``pair_id, p_b, human`` for the pairs with both a judge
    probability and at least one human rating."""
    from sidebyside.analysis.calibration import human_majority

    if judge.empty or human.empty or col.PREFERENCE_SCORE not in judge.columns:
        return pd.DataFrame({col.PAIR_ID: [], "p_b": [], "human": []})
    scored = judge.dropna(subset=[col.PREFERENCE_SCORE])
    majority = human_majority(human)
    df = pd.DataFrame({col.PAIR_ID: scored[col.PAIR_ID], "p_b": scored[col.PREFERENCE_SCORE] - 1.0})
    df["human"] = df[col.PAIR_ID].map(majority)
    return df.dropna(subset=["human"]).reset_index(drop=True)


def judges_calibration(
    verdicts: pd.DataFrame, *, n_bins: int = DEFAULT_BINS
) -> dict[str, Calibration]:
    """Calibration of every judge with continuous preferences in a verdicts table
    (``analysis.verdicts``), against the human majority; judges without any are left out."""
    if verdicts.empty:
        return {}
    human = verdicts[verdicts[col.SOURCE] == VerdictSource.HUMAN]
    judges = verdicts[verdicts[col.SOURCE] == VerdictSource.JUDGE]
    out = {}
    for name, rows in judges.groupby(col.JUDGE, sort=True):
        df = calibration_frame(rows, human)
        if len(df):
            out[str(name)] = judge_calibration(df, n_bins=n_bins)
    return out
