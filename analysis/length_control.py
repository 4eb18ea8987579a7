"""Equal-length win rates: would A still win if both answers were equally long?

Fine-tuned models often answer at greater length, and both humans and LLM judges tend to
prefer longer answers, so a raw win rate can reward verbosity rather than quality. Each
compared pair of systems gets its own logistic regression of the vote on the length
difference:

    logit P(A wins) = theta + beta * tanh((len_A - len_B) / sd)

fitted by statsmodels' binomial GLM on the per-pair vote shares (ties = ½, each pair weighted
by its number of votes). ``sigmoid(theta)`` is the win rate at equal length; ``beta > 0``
means the source rewards length. The interval is a cluster-robust (sandwich) interval with
prompts as clusters, so several votes on one prompt are not counted as independent evidence.

This is a simple length adjustment in the spirit of AlpacaEval 2's length-controlled win
rate (Dubois et al., 2024), NOT that figure: AlpacaEval's GLM also has an instruction
difficulty term and regularisation, is fitted per model against one reference, and its
published LC win rates on the same data are 7–11 points lower. Do not compare it with the
leaderboard. Chatbot Arena's style control (``analysis.style_control``) is the method the
report offers for a field-standard adjustment. (The JSON key stays ``length_controlled``.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

from sidebyside.analysis import columns as col
from sidebyside.foundation.enums import Preference

PREF_SCORE = {Preference.A: 1.0, Preference.B: 0.0, Preference.TIE: 0.5}


@dataclass(frozen=True)
class _Votes:
    """The votes as arrays, encoded once per source (string comparisons on 100k rows per
    system pair were most of the cost)."""

    systems: pd.Index
    ia: np.ndarray
    ib: np.ndarray
    pair: np.ndarray
    prompt: np.ndarray
    y: np.ndarray
    delta: np.ndarray

    @classmethod
    def of(cls, votes: pd.DataFrame) -> _Votes:
        systems = pd.Index(pd.unique(pd.concat([votes[col.SYSTEM_A], votes[col.SYSTEM_B]])))
        return cls(
            systems,
            systems.get_indexer(votes[col.SYSTEM_A]),
            systems.get_indexer(votes[col.SYSTEM_B]),
            votes[col.PAIR_ID].to_numpy(),
            votes[col.PROMPT_ID].to_numpy(),
            votes[col.PREFERENCE].map(PREF_SCORE).to_numpy(dtype=float),
            (votes[col.LEN_A].astype(float) - votes[col.LEN_B].astype(float)).to_numpy(),
        )

    def pair_table(self, system_a: str, system_b: str) -> pd.DataFrame:
        """One row per rated pair of outputs, oriented so that ``y`` is A's vote share."""
        i, j = self.systems.get_indexer([system_a, system_b])
        same = (self.ia == i) & (self.ib == j)
        flip = (self.ia == j) & (self.ib == i)
        keep = same | flip
        flipped = flip[keep]
        y = np.where(flipped, 1.0 - self.y[keep], self.y[keep])
        delta = np.where(flipped, -self.delta[keep], self.delta[keep])
        pairs, first, inverse, n = np.unique(
            self.pair[keep], return_index=True, return_inverse=True, return_counts=True
        )
        return pd.DataFrame(
            {"prompt": self.prompt[keep][first], "y": np.bincount(inverse, weights=y) / n,
             "n": n, "delta": delta[first]},
            index=pairs,
        )  # fmt: skip


def fit_length_controlled(
    y: np.ndarray, n: np.ndarray, delta: np.ndarray, clusters: np.ndarray, confidence: float
) -> dict[str, Any] | None:
    """The regression above on per-pair shares ``y`` (weights ``n``), length differences
    ``delta`` and cluster labels. None when it cannot be fitted (fewer than 3 pairs, one-sided
    outcomes that separate perfectly, or no length variation at all)."""
    import statsmodels.api as sm

    if len(y) < 3 or (np.all(y == y[0]) and y[0] in (0.0, 1.0)):
        return None
    sd = float(np.std(delta))
    if not np.isfinite(sd) or sd == 0:
        return None
    x = np.tanh(delta / sd)
    design = np.column_stack([np.ones_like(x), x])
    codes = pd.factorize(clusters)[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-separation and domain warnings: checked below
        try:
            model = sm.GLM(y, design, family=sm.families.Binomial(), var_weights=n)
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": codes})
        except (ValueError, np.linalg.LinAlgError):
            return None
    theta, beta = (float(v) for v in fit.params)
    se_theta, se_beta = (float(v) for v in fit.bse)
    if not all(np.isfinite([theta, beta, se_theta, se_beta])) or abs(theta) > 30:
        return None
    z = float(norm.ppf(0.5 + confidence / 2))
    return {
        "lc_win_rate_a": float(expit(theta)),
        "ci_low": float(expit(theta - z * se_theta)),
        "ci_high": float(expit(theta + z * se_theta)),
        "length_coef": beta,
        "length_p_value": float(2 * norm.sf(abs(beta / se_beta))) if se_beta > 0 else None,
        "length_sd": sd,
    }


def length_controlled(
    votes: pd.DataFrame, win_rates: list[dict[str, Any]] | None, *, confidence: float = 0.95
) -> list[dict[str, Any]] | None:
    """One row per row of ``win_rates`` (same orientation): ``system_a, system_b,
    win_rate_a`` (raw), ``lc_win_rate_a, ci_low, ci_high, length_coef, length_p_value,
    length_sd, n_pairs``; the fitted figures are None where the model cannot be fitted.

    >>> rng = np.random.default_rng(0)
    >>> longer = rng.integers(0, 2, 400).astype(bool)  # A is the longer answer half the time
    >>> votes = pd.DataFrame({"pair_id": range(400), "prompt_id": range(400),
    ...     "system_a": "tuned", "system_b": "base",
    ...     "preference": np.where(rng.random(400) < np.where(longer, 0.8, 0.2), "a", "b"),
    ...     "len_a": np.where(longer, 900, 300), "len_b": 600})
    >>> (row,) = length_controlled(votes, [{"system_a": "tuned", "system_b": "base",
    ...                                      "win_rate_a": 0.5}])
    >>> round(row["lc_win_rate_a"], 1), row["length_coef"] > 1, row["ci_low"] < 0.5
    (0.5, True, True)
    """
    if not win_rates:
        return None
    if not {col.LEN_A, col.LEN_B} <= set(votes.columns):
        raise ValueError("votes need len_a and len_b columns for length control")
    encoded = _Votes.of(votes)
    out = []
    for r in win_rates:
        table = encoded.pair_table(r["system_a"], r["system_b"])
        table = table[table["delta"].notna()]
        fitted = fit_length_controlled(
            table["y"].to_numpy(),
            table["n"].to_numpy(dtype=float),
            table["delta"].to_numpy(),
            table["prompt"].to_numpy(),
            confidence,
        )
        empty = dict.fromkeys(
            ("lc_win_rate_a", "ci_low", "ci_high", "length_coef", "length_p_value", "length_sd")
        )
        out.append(
            {
                "system_a": r["system_a"],
                "system_b": r["system_b"],
                "win_rate_a": r["win_rate_a"],
                **(fitted or empty),
                "n_pairs": int(len(table)),
            }
        )
    return out
