"""Bradley–Terry with style control: equal to an independent scikit-learn fit of Arena's own
construction, and it recovers a planted length bias."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from sidebyside.analysis.columns import style_column
from sidebyside.analysis.style_control import (
    STYLES,
    ranks_from_ci,
    style_controlled_ratings,
    style_counts,
)

SYSTEMS = ("alpha", "beta", "gamma", "delta")


def synthetic_votes(quality, length, *, gamma_len=0.0, n_prompts=300, seed=0) -> pd.DataFrame:
    """Every two systems on every prompt, one vote each, drawn from Arena's model with a
    length effect ``gamma_len`` on the normalised length difference."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_prompts):
        for a, b in combinations(range(len(quality)), 2):
            # lengths vary widely within a system, so length is not just the system's name
            la, lb = (int(rng.lognormal(math.log(length[i]), 0.8)) + 1 for i in (a, b))
            feats = {style_column(s, side): rng.poisson(2) for s in STYLES[1:] for side in "ab"}
            z = (la - lb) / (la + lb + 1)
            logit = math.log(10) * (quality[a] - quality[b]) + gamma_len * z * 4
            u = rng.random()
            p_a = 1 / (1 + math.exp(-logit))
            pref = "a" if u < p_a * 0.9 else "b" if u > 1 - (1 - p_a) * 0.9 else "tie"
            rows.append(
                {"prompt_id": p, "pair_id": len(rows), "system_a": SYSTEMS[a],
                 "system_b": SYSTEMS[b], "preference": pref, style_column("length", "a"): la,
                 style_column("length", "b"): lb, **feats}
            )  # fmt: skip
    return pd.DataFrame(rows)


def arena_reference_fit(votes: pd.DataFrame, systems: list[str]) -> np.ndarray:
    """Arena's construction written out independently: duplicate every vote, ±ln 10 system
    columns, standardised (a − b)/(a + b + 1) style columns, Y = 1 for A wins (both copies)
    and for the first copy of a tie; scikit-learn's default L2 logistic regression."""
    df = pd.concat([votes, votes], ignore_index=True)
    n, k = len(df), len(systems)
    x = np.zeros((n, k + len(STYLES)))
    ia = df["system_a"].map(systems.index).to_numpy()
    ib = df["system_b"].map(systems.index).to_numpy()
    x[np.arange(n), ia] = math.log(10)
    x[np.arange(n), ib] = -math.log(10)
    for j, s in enumerate(STYLES):
        a = df[style_column(s, "a")].to_numpy(float)
        b = df[style_column(s, "b")].to_numpy(float)
        d = (a - b) / (a + b + 1)
        # standardised over both orientations (mean 0 by symmetry): the module's documented
        # deviation from Arena, whose randomly oriented battles have a mean near 0 anyway
        rms = np.sqrt(np.mean(np.r_[d, -d] ** 2))
        x[:, k + j] = d / rms if rms > 0 else 0.0
    y = (df["preference"] == "a").to_numpy(float)
    tie = np.array(df["preference"] == "tie")
    tie[n // 2 :] = False
    y[tie] = 1.0
    lr = LogisticRegression(fit_intercept=False, tol=1e-12, max_iter=100_000)
    return lr.fit(x, y).coef_[0]


def test_equals_an_independent_scikit_learn_fit():
    votes = synthetic_votes([0.3, 0.1, 0.0, -0.2], [300, 200, 400, 250], gamma_len=0.5)
    out = style_controlled_ratings(votes, systems=list(SYSTEMS), n_boot=0)
    coef = arena_reference_fit(votes, list(SYSTEMS))
    got = {r["system"]: (r["style_rating"] - 1000) / 400 for r in out["ratings"]}
    for i, s in enumerate(SYSTEMS):
        assert got[s] == pytest.approx(coef[i], abs=1e-4)
    for j, s in enumerate(STYLES):
        assert out["coefficients"][s] == pytest.approx(coef[len(SYSTEMS) + j], abs=1e-4)
    assert out["n"] == len(votes) and out["ties"] == "half a win"


def test_recovers_a_planted_length_bias():
    # true order alpha > beta > gamma > delta, but the worse a system the longer it writes,
    # and the judge loves length: the raw ranking flips, the style-controlled one does not
    quality = [0.3, 0.2, 0.1, 0.0]
    votes = synthetic_votes(quality, [200, 400, 800, 1600], gamma_len=1.5, n_prompts=400)
    out = style_controlled_ratings(votes, systems=list(SYSTEMS), n_boot=30, seed=1)
    by = {r["system"]: r for r in out["ratings"]}
    observed = sorted(SYSTEMS, key=lambda s: -by[s]["rating"])
    controlled = sorted(SYSTEMS, key=lambda s: -by[s]["style_rating"])
    assert observed == ["delta", "gamma", "beta", "alpha"]
    assert controlled == list(SYSTEMS)
    assert out["coefficients"]["length"] > 0.5
    assert by["delta"]["rank"] == 1 and by["alpha"]["style_rank"] == 1
    assert by["alpha"]["rank"] > 1 and by["delta"]["style_rank"] > 1
    for r in out["ratings"]:
        assert r["style_ci_low"] <= r["style_rating"] <= r["style_ci_high"]


def test_ranks_and_counts():
    assert ranks_from_ci(np.array([0.0, 0.0]), np.array([1.0, 1.0])) == [1, 1]
    assert style_counts("## H\n1. x\n2. y\n__b__ and **c**") == (30, 1, 2, 2)
    two = synthetic_votes([0.1, 0.0], [10, 10], n_prompts=5)
    assert style_controlled_ratings(two, n_boot=0) is None


def test_one_step_bootstrap_matches_full_refits():
    """The one-step bootstrap's interval ends match those of a full refit per resample (same
    resamples) to a small fraction of the interval's width."""
    from sidebyside.analysis.bootstrap import resample_sums
    from sidebyside.analysis.style_control import (
        _design,
        _fit,
        one_step_bootstrap,
        style_covariates,
    )

    votes = synthetic_votes([0.3, 0.2, 0.1, 0.0], [200, 400, 800, 1600], gamma_len=1.5)
    x, score = _design(votes, list(SYSTEMS))
    z = style_covariates(
        votes[[style_column(s, "a") for s in STYLES]].to_numpy(float),
        votes[[style_column(s, "b") for s in STYLES]].to_numpy(float),
    )
    x = np.hstack([x, z])
    prompt = votes["prompt_id"].to_numpy()
    weight = np.ones(len(votes))
    coef = _fit(x, score, weight, 1.0)
    one = one_step_bootstrap(x, score, weight, prompt, coef, 1.0, n_boot=60, seed=3)
    (times,) = resample_sums([np.eye(prompt.max() + 1)], n_boot=60, seed=3)
    full = np.array([_fit(x, score, weight * t[prompt], 1.0, coef) for t in times])
    width = np.percentile(full, 97.5, axis=0) - np.percentile(full, 2.5, axis=0)
    for q in (2.5, 97.5):
        gap = np.abs(np.percentile(one, q, axis=0) - np.percentile(full, q, axis=0))
        k = len(SYSTEMS)  # ratings within 5% of the interval width, style terms within 10%
        assert (gap[:k] < 0.05 * width[:k]).all() and (gap < 0.10 * width).all()
