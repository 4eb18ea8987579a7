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

Where maximum likelihood has no finite answer (the votes separate perfectly by length, or
one side never wins: AlpacaEval's ``gpt4_gamed``, 768 of 805 answers 10 characters long and
none winning), the fit is Firth's penalised likelihood (Firth, 1993: the Jeffreys-prior
penalty ½·log det I), finite there, with a profile penalised-likelihood interval (Heinze &
Schemper, 2002; pairs counted as independent, no clustering). ``method`` says which fit gave
the figures and ``reason`` why Firth was needed, or why there is no figure at all.

This is a simple length adjustment in the spirit of AlpacaEval 2's length-controlled win
rate (Dubois et al., 2024), NOT that figure: AlpacaEval's GLM also has an instruction
difficulty term and regularisation toward gamed baselines, is fitted per model against one
reference, and on five leaderboard models its published LC reads 1.4 to 17.8 points below
this figure. ``analysis.lc_winrate`` computes AlpacaEval's own figure
(``win_rates[].lc_win_rate``) where its hub files are given; do not compare this one with
the leaderboard. Chatbot Arena's style control (``analysis.style_control``) is the other
field-standard adjustment the report offers. (The JSON key stays ``length_controlled``.)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize_scalar
from scipy.special import expit
from scipy.stats import chi2, norm

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


ML = "maximum likelihood"
FIRTH = "firth"
#: Beyond this |logit| the maximum-likelihood fit is taken to be running off to infinity.
MAX_LOGIT = 30.0


def _penalised_loglik(design: np.ndarray, y: np.ndarray, n: np.ndarray, b: np.ndarray) -> float:
    """Firth's objective: the binomial log likelihood (shares ``y``, weights ``n``) plus
    ½·log det of the Fisher information."""
    eta = design @ b
    loglik = np.sum(n * (y * -np.logaddexp(0, -eta) + (1 - y) * -np.logaddexp(0, eta)))
    p = expit(eta)
    info = design.T @ (design * (n * p * (1 - p))[:, None])
    sign, logdet = np.linalg.slogdet(info)
    return float(loglik + 0.5 * logdet) if sign > 0 else -np.inf


def _firth(design: np.ndarray, y: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Firth's estimate by Newton steps on the modified score U*(b) = Xᵀ(n(y − p) + h(½ − p))
    (h: the hat matrix's diagonal), halving a step until the penalised likelihood rises."""
    b = np.zeros(design.shape[1])
    current = _penalised_loglik(design, y, n, b)
    for _ in range(200):
        p = expit(design @ b)
        w = n * p * (1 - p)
        inv = np.linalg.inv(design.T @ (design * w[:, None]))
        h = w * np.einsum("ij,jk,ik->i", design, inv, design)
        step = inv @ (design.T @ (n * (y - p) + h * (0.5 - p)))
        trial = _penalised_loglik(design, y, n, b + step)
        for _halving in range(30):
            if trial >= current - 1e-12:
                break
            step = step / 2
            trial = _penalised_loglik(design, y, n, b + step)
        b, current = b + step, trial
        if np.max(np.abs(step)) < 1e-10:
            break
    return b


def _profile_interval(
    design: np.ndarray, y: np.ndarray, n: np.ndarray, b: np.ndarray, confidence: float
) -> tuple[float, float]:
    """The profile penalised-likelihood interval of the intercept: where twice the drop of
    the penalised likelihood, maximised over the slope, reaches the χ²₁ quantile."""
    top = _penalised_loglik(design, y, n, b)
    cut = float(chi2.ppf(confidence, 1)) / 2

    def drop(theta: float) -> float:
        res = minimize_scalar(
            lambda beta: -_penalised_loglik(design, y, n, np.array([theta, beta])),
            bracket=(b[1] - 1, b[1] + 1),
        )
        return top + float(res.fun) - cut

    ends = []
    for direction in (-1.0, 1.0):
        width = 1.0
        while drop(b[0] + direction * width) < 0 and width < 1e3:
            width *= 2
        ends.append(brentq(drop, b[0], b[0] + direction * width, xtol=1e-8))
    return ends[0], ends[1]


def _declined(reason: str) -> dict[str, Any]:
    return {"method": None, "reason": reason}


def _firth_fit(
    design: np.ndarray, y: np.ndarray, n: np.ndarray, sd: float, confidence: float, why: str
) -> dict[str, Any]:
    theta, beta = _firth(design, y, n)
    top = _penalised_loglik(design, y, n, np.array([theta, beta]))
    low, high = _profile_interval(design, y, n, np.array([theta, beta]), confidence)
    # The penalised likelihood-ratio test of no length effect (a Wald test misleads here).
    without = minimize_scalar(
        lambda t: -_penalised_loglik(design, y, n, np.array([t, 0.0])),
        bracket=(theta - 1, theta + 1),
    )
    lr = max(0.0, 2 * (top + float(without.fun)))
    return {
        "lc_win_rate_a": float(expit(theta)),
        "ci_low": float(expit(low)),
        "ci_high": float(expit(high)),
        "length_coef": float(beta),
        "length_p_value": float(chi2.sf(lr, 1)),
        "length_sd": sd,
        "method": FIRTH,
        "reason": f"{why}: maximum likelihood has no finite estimate, so Firth's penalised fit",
    }


def fit_length_controlled(
    y: np.ndarray, n: np.ndarray, delta: np.ndarray, clusters: np.ndarray, confidence: float
) -> dict[str, Any]:
    """The regression above on per-pair shares ``y`` (weights ``n``), length differences
    ``delta`` and cluster labels: maximum likelihood, or Firth's penalised fit where that
    has no finite answer. Without any figure (fewer than 3 pairs, no length variation) only
    ``method`` (None) and ``reason``."""
    import statsmodels.api as sm

    if len(y) < 3:
        return _declined(f"{len(y)} rated pair(s): the fit needs at least 3")
    sd = float(np.std(delta))
    if not np.isfinite(sd) or sd == 0:
        return _declined("no length variation: every pair has the same length difference")
    x = np.tanh(delta / sd)
    design = np.column_stack([np.ones_like(x), x])
    if np.all(y == y[0]) and y[0] in (0.0, 1.0):
        side = "A" if y[0] == 1.0 else "B"
        return _firth_fit(design, y, n, sd, confidence, f"every vote went to {side}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # perfect-separation and domain warnings: checked below
        try:
            model = sm.GLM(y, design, family=sm.families.Binomial(), var_weights=n)
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(clusters)[0]})
            theta, beta, se_theta, se_beta = (float(v) for v in (*fit.params, *fit.bse))
        except (ValueError, np.linalg.LinAlgError):
            theta = se_theta = beta = se_beta = np.nan
    finite = all(np.isfinite([theta, beta, se_theta, se_beta]))
    if not finite or max(abs(theta), abs(beta)) > MAX_LOGIT:
        why = "the votes separate (almost) perfectly by length"
        return _firth_fit(design, y, n, sd, confidence, why)
    z = float(norm.ppf(0.5 + confidence / 2))
    return {
        "lc_win_rate_a": float(expit(theta)),
        "ci_low": float(expit(theta - z * se_theta)),
        "ci_high": float(expit(theta + z * se_theta)),
        "length_coef": beta,
        "length_p_value": float(2 * norm.sf(abs(beta / se_beta))) if se_beta > 0 else None,
        "length_sd": sd,
        "method": ML,
        "reason": None,
    }


def length_controlled(
    votes: pd.DataFrame, win_rates: list[dict[str, Any]] | None, *, confidence: float = 0.95
) -> list[dict[str, Any]] | None:
    """One row per row of ``win_rates`` (same orientation): ``system_a, system_b,
    win_rate_a`` (raw), ``lc_win_rate_a, ci_low, ci_high, length_coef, length_p_value,
    length_sd, method, reason, n_pairs``; the fitted figures are None, with the reason, where
    there is no fit at all.

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
                **empty,
                **fitted,
                "n_pairs": int(len(table)),
            }
        )
    return out
