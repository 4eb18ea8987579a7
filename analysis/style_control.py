"""Bradley–Terry ratings with style control, as Chatbot Arena computes them.

Arena (LMSYS, "Does style matter?", 2024; FastChat ``elo_analysis.py``) fits one logistic
regression over all votes:

    logit P(A wins) = ln(10) · (β_A − β_B) + Σ_k γ_k · z_k

where z_k are *style covariates*: for each of answer length, Markdown headers, list items and
bold spans, the normalised difference (x_A − x_B) / (x_A + x_B + 1), standardised over the
votes (see ``style_covariates`` for the one deviation: the order a pair is stored in must not
matter). The ratings are 1000 + 400 · β (Arena's scale: 400 points = 10:1
odds). ``γ`` absorbs what style alone explains, so β is the rating "at equal style". The
same fit without covariates gives the ratings "as observed". Both use scikit-learn's
L2-regularised logistic regression without intercept (C = 1, as Arena), and count a tie as
half a win (Arena duplicates every vote: a win gives two A-wins, a tie one A-win and one
B-win). Intervals come from a bootstrap that resamples prompts (one Newton step per
resample from the full fit: ``one_step_bootstrap``); a system's rank is 1 + the number of
systems whose interval lies wholly above its own.

Counts follow Arena's definitions, after removing fenced code blocks: headers are lines
starting with 1–6 ``#`` and a space, list items lines starting with ``-``, ``*``, ``+`` or
``1.`` after optional indentation, bold spans ``**x**`` or ``__x__`` within one line. Length
is in characters of the whole answer (Arena counts tokens; characters need no tokenizer, and
the normalised difference is nearly scale-free).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, resample_sums
from sidebyside.foundation.enums import Preference

STYLES = ("length", "headers", "lists", "bold")
SCALE, INIT = 400.0, 1000.0
_CODE = re.compile(r"```[^`]*```")
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST = re.compile(r"^\s*(?:\d+\.|[-*+])\s", re.MULTILINE)
_BOLD = (re.compile(r"\*\*[^*\n]+\*\*"), re.compile(r"__[^_\n]+__"))


def style_counts(text: str) -> tuple[int, int, int, int]:
    """(length, headers, list items, bold spans) of one answer, by Arena's definitions.

    >>> style_counts("# Title\\n\\n- **one**\\n- two\\n```\\n# not a header\\n```")
    (47, 1, 2, 1)
    """
    prose = _CODE.sub("", text)
    bold = sum(len(p.findall(prose)) for p in _BOLD)
    return len(text), len(_HEADER.findall(prose)), len(_LIST.findall(prose)), bold


def style_covariates(features_a: np.ndarray, features_b: np.ndarray) -> np.ndarray:
    """Standardised normalised differences, shape (N, K), from (N, K) counts of each side.

    Standardised over the votes counted in both orientations: the mean is then 0 and the SD
    is the root mean square. Arena centres on the mean of its battles, which is ~0 because
    its sides are random; a study's pairs are stored in a systematic order (first-imported
    system first), where centring would smuggle in an intercept that no rating can absorb
    and bias the ratings. A covariate that never varies stays 0.
    """
    a, b = np.asarray(features_a, float), np.asarray(features_b, float)
    diff = (a - b) / (a + b + 1.0)
    rms = np.sqrt((diff**2).mean(axis=0)) if len(diff) else np.zeros(diff.shape[1])
    return np.divide(diff, rms, out=np.zeros_like(diff), where=rms > 0)


def _design(votes: pd.DataFrame, systems: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    idx = pd.Index(list(systems))
    ia, ib = idx.get_indexer(votes[col.SYSTEM_A]), idx.get_indexer(votes[col.SYSTEM_B])
    x = np.zeros((len(votes), len(idx)))
    rows = np.arange(len(votes))
    x[rows, ia], x[rows, ib] = math.log(10.0), -math.log(10.0)
    pref = votes[col.PREFERENCE].to_numpy()
    score = np.where(pref == Preference.A, 1.0, np.where(pref == Preference.TIE, 0.5, 0.0))
    return x, score


def _fit(
    x: np.ndarray, score: np.ndarray, weight: np.ndarray, c: float, start: np.ndarray | None = None
) -> np.ndarray:
    """Coefficients of the L2-regularised logistic regression on votes with a win score in
    [0, 1], as scikit-learn's ``LogisticRegression(fit_intercept=False, C=c)`` fits Arena's
    duplicated votes (a vote is a y = 1 row of weight 2·score and a y = 0 row of weight
    2·(1 − score)): minimise ½‖w‖² + c·Σ 2ω·logloss. Solved by Newton's method (K is a
    handful of columns, so each step is one K×K solve; a bootstrap warm-starts from the
    point estimate); tests check it against scikit-learn on the duplicated rows."""
    w = np.zeros(x.shape[1]) if start is None else start.copy()
    cw = 2.0 * c * weight

    def objective(v: np.ndarray) -> float:
        eta = x @ v
        return 0.5 * v @ v + float(cw @ (np.logaddexp(0, eta) - score * eta))

    current = objective(w)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = w + x.T @ (cw * (p - score))
        hess = np.eye(len(w)) + (x * (cw * p * (1 - p))[:, None]).T @ x
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while True:  # backtracking keeps every step a descent step
            new = objective(w - t * step)
            if new <= current or t < 1e-8:
                break
            t /= 2
        w, done = w - t * step, current - new < 1e-13 * max(1.0, abs(current))
        current = new
        if done or np.abs(t * step).max() < 1e-10:
            break
    return w


def _collapse(key: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Votes with the same integer ``key`` (pair and outcome: same design row, score and
    prompt) merged into one row of weight = their count; returns (weights, arrays' rows).
    Three annotators agreeing on a pair become one row of weight 3."""
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    weight = np.bincount(inverse.ravel(), minlength=len(first)).astype(float)
    return weight, [a[first] for a in arrays]


def cluster_newton_terms(
    x: np.ndarray,
    score: np.ndarray,
    weight: np.ndarray,
    cluster: np.ndarray,
    coef: np.ndarray,
    c: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster gradient (C, K) and Hessian (C, K·K) of the loss part of ``_fit``'s
    objective at ``coef``: what a resample of clusters (prompts) sums."""
    k = x.shape[1]
    p = 1.0 / (1.0 + np.exp(-(x @ coef)))
    cw = 2.0 * c * weight
    grad_rows = x * (cw * (p - score))[:, None]
    hess_rows = (x[:, :, None] * x[:, None, :]).reshape(len(x), k * k)
    hess_rows *= (cw * p * (1 - p))[:, None]
    n = int(cluster.max()) + 1
    grad = np.stack([np.bincount(cluster, grad_rows[:, j], n) for j in range(k)], 1)
    hess = np.stack([np.bincount(cluster, hess_rows[:, j], n) for j in range(k * k)], 1)
    return grad, hess


def one_step(coef: np.ndarray, grad_sums: np.ndarray, hess_sums: np.ndarray) -> np.ndarray:
    """Bootstrap coefficients (B, K): one Newton step from the full-data fit ``coef`` on each
    resample, given the resampled sums of ``cluster_newton_terms`` (the one-step bootstrap).
    A full refit per resample costs ~100× more and moves the interval ends by a few percent
    of the interval's width (tested)."""
    k = len(coef)
    hess = hess_sums.reshape(len(hess_sums), k, k) + np.eye(k)
    step = np.linalg.solve(hess, (coef[None, :] + grad_sums)[:, :, None])[:, :, 0]
    return coef[None, :] - step


def one_step_bootstrap(
    x: np.ndarray,
    score: np.ndarray,
    weight: np.ndarray,
    cluster: np.ndarray,
    coef: np.ndarray,
    c: float,
    *,
    n_boot: int,
    seed: int,
) -> np.ndarray:
    """Bootstrap coefficients (B, K) resampling clusters (``analysis.bootstrap``'s shared
    multinomial resample), each one Newton step from ``coef``."""
    grad, hess = cluster_newton_terms(x, score, weight, cluster, coef, c)
    return one_step(coef, *resample_sums([grad, hess], n_boot=n_boot, seed=seed))


def ranks_from_ci(low: np.ndarray, high: np.ndarray) -> list[int]:
    """1 + the number of systems whose interval lies wholly above each system's.

    >>> ranks_from_ci(np.array([10, 5, 0]), np.array([20, 12, 4]))
    [1, 1, 3]
    """
    return [int(1 + np.sum(low > h)) for h in high]


def style_controlled_ratings(
    votes: pd.DataFrame,
    *,
    systems: Sequence[str] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    reg: float = 1.0,
) -> dict[str, Any] | None:
    """Ratings as observed and style-controlled, side by side. ``votes`` has the columns of
    the verdicts frame plus the ``col.style_column(style, side)`` counts of both sides for
    every style in ``STYLES`` (see ``analysis.style_frame.load_style``). Returns
    ``{"ratings": [row per system, best style-controlled first], "coefficients": {style: γ},
    "n", "n_prompts", "n_boot"}``, or None with fewer than three systems. ``reg`` is 1/C of
    the regression."""
    if votes.empty:
        return None
    order = list(systems) if systems else []
    seen = set(pd.unique(votes[col.SYSTEM_A])) | set(pd.unique(votes[col.SYSTEM_B]))
    order = [s for s in order if s in seen] + sorted(seen - set(order))
    if len(order) < 3:
        return None
    x_sys, score = _design(votes, order)
    z = style_covariates(
        votes[[col.style_column(s, "a") for s in STYLES]].to_numpy(float),
        votes[[col.style_column(s, "b") for s in STYLES]].to_numpy(float),
    )
    prompt, _ = pd.factorize(votes[col.PROMPT_ID])
    pair, _ = pd.factorize(votes[col.PAIR_ID])
    # a vote's row is fixed by its pair (systems, style) and its score (a, tie, b)
    key = pair.astype(np.int64) * 3 + np.rint(score * 2).astype(np.int64)
    weight, (x_sys, z, score, prompt) = _collapse(key, x_sys, z, score, prompt)
    x_sty = np.hstack([x_sys, z])
    c, k = 1.0 / reg, len(order)
    raw = _fit(x_sys, score, weight, c)
    styled = _fit(x_sty, score, weight, c)
    n_prompts = int(prompt.max()) + 1
    b = n_boot if n_boot > 0 else 0
    boot_raw = boot_sty = np.empty((0, k))
    if b:  # both fits on the same resamples of prompts, drawn once
        terms = [
            *cluster_newton_terms(x_sys, score, weight, prompt, raw, c),
            *cluster_newton_terms(x_sty, score, weight, prompt, styled, c),
        ]
        g_raw, h_raw, g_sty, h_sty = resample_sums(terms, n_boot=b, seed=seed)
        boot_raw = one_step(raw, g_raw, h_raw)[:, :k]
        boot_sty = one_step(styled, g_sty, h_sty)[:, :k]
    tail = (1 - confidence) / 2 * 100
    rows = []
    for name, coef, boot in (("observed", raw, boot_raw), ("style", styled, boot_sty)):
        rating = INIT + SCALE * coef[:k]
        if b:
            low, high = np.percentile(INIT + SCALE * boot, [tail, 100 - tail], axis=0)
            rank = ranks_from_ci(low, high)
        else:
            low = high = np.full(k, np.nan)
            rank = [int(1 + np.sum(rating > r)) for r in rating]
        rows.append((name, rating, low, high, rank))
    (_, r_o, lo_o, hi_o, rk_o), (_, r_s, lo_s, hi_s, rk_s) = rows
    ratings = [
        {
            "system": order[i],
            "rating": float(r_o[i]),
            "ci_low": _num(lo_o[i]),
            "ci_high": _num(hi_o[i]),
            "rank": rk_o[i],
            "style_rating": float(r_s[i]),
            "style_ci_low": _num(lo_s[i]),
            "style_ci_high": _num(hi_s[i]),
            "style_rank": rk_s[i],
        }
        for i in range(k)
    ]
    ratings.sort(key=lambda r: -r["style_rating"])
    return {
        "ratings": ratings,
        "coefficients": {s: float(g) for s, g in zip(STYLES, styled[k:], strict=True)},
        "n": int(len(votes)),
        "n_prompts": n_prompts,
        "n_boot": b,
        "ties": "half a win",
    }


def _num(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
