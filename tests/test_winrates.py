"""Win rates, intervals, sign tests and Bradley–Terry, proven on published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sidebyside.analysis import winrates as wr


def votes(rows):
    return pd.DataFrame(rows, columns=["prompt_id", "system_a", "system_b", "preference"])


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (4, 100, 0.01566330, 0.09837071),  # R binom.confint(4, 100, methods="wilson")
        (42, 100, 0.3279838, 0.5179351),  # R prop.test(42, 100, correct=FALSE)$conf.int
    ],
)
def test_wilson_matches_r(x, n, low, high):
    got = wr.wilson_ci(x, n)
    assert got[0] == pytest.approx(low, abs=1e-7) and got[1] == pytest.approx(high, abs=1e-7)


def test_wilson_empty():
    assert wr.wilson_ci(0, 0) == (None, None)


def test_sign_test_matches_r():
    assert wr.sign_test(682, 243, p=0.75) == pytest.approx(0.3825, abs=1e-4)
    # R: binom.test(9, 10)$p.value = 0.02148438
    assert wr.sign_test(9, 1) == pytest.approx(0.02148438, abs=1e-8)
    assert wr.sign_test(0, 0) is None


def test_win_rates_counts_orientation_and_ties():
    rows = [
        (1, "base", "tuned", "b"),
        (2, "base", "tuned", "b"),
        (3, "tuned", "base", "a"),
        (4, "base", "tuned", "tie"),
        (5, "base", "tuned", "a"),
    ]
    (r,) = wr.win_rates(votes(rows), systems=["base", "tuned"], n_boot=200)
    # stored mostly as base-vs-tuned, so that orientation is kept
    assert (r["system_a"], r["system_b"]) == ("base", "tuned")
    assert (r["wins_a"], r["wins_b"], r["ties"], r["n"]) == (1, 3, 1, 5)
    assert r["win_rate_a"] == pytest.approx(1.5 / 5)
    assert r["ci_low"] < r["win_rate_a"] < r["ci_high"]
    assert r["boot_ci_low"] <= r["win_rate_a"] <= r["boot_ci_high"]
    assert r["p_value"] == pytest.approx(0.625)  # binom.test(1, 4)
    assert r["n_prompts"] == 5


def test_bootstrap_resamples_prompts_not_votes():
    """Votes of one prompt move together: identical votes copied per prompt give the same
    bootstrap interval as one vote per prompt (clusters), but a narrower Wilson interval."""
    rng = np.random.default_rng(1)
    prefs = rng.choice(["a", "b"], size=60)
    one = votes([(i, "x", "y", p) for i, p in enumerate(prefs)])
    five = votes([(i, "x", "y", p) for i, p in enumerate(prefs) for _ in range(5)])
    (r1,) = wr.win_rates(one, n_boot=500, seed=4)
    (r5,) = wr.win_rates(five, n_boot=500, seed=4)
    assert r1["win_rate_a"] == pytest.approx(r5["win_rate_a"])
    assert r1["boot_ci_low"] == pytest.approx(r5["boot_ci_low"])
    assert r1["boot_ci_high"] == pytest.approx(r5["boot_ci_high"])
    assert r5["ci_high"] - r5["ci_low"] < r1["ci_high"] - r1["ci_low"]


def test_bradley_terry_two_systems_reproduce_odds():
    s = wr.bradley_terry(np.array([[0.0, 30.0], [10.0, 0.0]]), prior=0)
    assert np.exp(s[0] - s[1]) == pytest.approx(3.0, rel=1e-8)
    assert s.sum() == pytest.approx(0.0, abs=1e-12)


def test_bradley_terry_equals_logistic_regression_mle():
    """The MM fit equals statsmodels' binomial GLM (the textbook BT as logistic regression)."""
    import statsmodels.api as sm

    w = np.array([[0, 12, 9, 15], [8, 0, 11, 13], [6, 9, 0, 10], [5, 7, 10, 0]], dtype=float)
    s = wr.bradley_terry(w, prior=0)
    rows, succ, fail = [], [], []
    for i in range(4):
        for j in range(i + 1, 4):
            x = np.zeros(4)
            x[i], x[j] = 1, -1
            rows.append(x[1:])  # system 0 is the reference (strength 0)
            succ.append(w[i, j])
            fail.append(w[j, i])
    fit = sm.GLM(np.column_stack([succ, fail]), np.array(rows), family=sm.families.Binomial()).fit()
    beta = np.concatenate([[0.0], fit.params])
    assert s - s[0] == pytest.approx(beta - beta[0], abs=1e-6)


def test_bradley_terry_vectorised_and_finite_for_unbeaten_system():
    w = np.array([[0, 10, 10], [0, 0, 5], [0, 5, 0]], dtype=float)
    s = wr.bradley_terry(w)  # with the default prior
    assert np.all(np.isfinite(s)) and s[0] > s[1]
    stacked = wr.bradley_terry(np.stack([w, w.T]))
    assert stacked[0] == pytest.approx(s) and stacked.shape == (2, 3)


def test_bradley_terry_ratings_recover_the_order():
    rng = np.random.default_rng(2)
    strength = {"weak": -0.8, "mid": 0.0, "strong": 0.8}
    rows = []
    for prompt in range(300):
        for a, b in (("weak", "mid"), ("mid", "strong"), ("weak", "strong")):
            p = 1 / (1 + np.exp(strength[b] - strength[a]))
            rows.append((prompt, a, b, "a" if rng.random() < p else "b"))
    res = wr.bradley_terry_ratings(votes(rows), n_boot=200)
    assert [r["system"] for r in res] == ["strong", "mid", "weak"]
    for r in res:
        assert r["ci_low"] < r["rating"] < r["ci_high"]
    gap = res[0]["strength"] - res[2]["strength"]
    assert gap == pytest.approx(1.6, abs=0.35)
    assert sum(r["rating"] for r in res) / 3 == pytest.approx(1000.0)


def test_bradley_terry_none_with_two_systems():
    assert wr.bradley_terry_ratings(votes([(1, "x", "y", "a")])) is None


def test_win_rate_matrix_is_complementary():
    rows = [(1, "x", "y", "a"), (1, "y", "z", "tie"), (2, "z", "x", "a"), (2, "x", "y", "b")]
    m = wr.win_rate_matrix(votes(rows), systems=["x", "y", "z"])
    r = np.array([[np.nan if v is None else v for v in row] for row in m["win_rate"]])
    assert m["systems"] == ["x", "y", "z"]
    assert r[0, 1] == 0.5 and r[1, 2] == 0.5 and r[2, 0] == 1.0
    off = ~np.eye(3, dtype=bool)
    assert np.allclose((r + r.T)[off], 1.0)
    assert m["n"][0][1] == 2


def test_criterion_means_match_scipy_t_interval():
    from scipy import stats

    x = np.array([3, 4, 5, 4, 2, 5, 4], dtype=float)
    df = pd.DataFrame({"system": "s", "criterion": "Accuracy", "score": x})
    (r,) = wr.criterion_means(df)
    low, high = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert (r["mean"], r["n"]) == (pytest.approx(x.mean()), 7)
    assert r["ci_low"] == pytest.approx(low) and r["ci_high"] == pytest.approx(high)


def test_bad_votes():
    with pytest.raises(ValueError, match="preference must be a, b or tie"):
        wr.win_rates(votes([(1, "x", "y", "A")]))
    with pytest.raises(ValueError, match="missing"):
        wr.win_rates(pd.DataFrame({"prompt_id": [1]}))


def test_prompt_level_sign_test_counts_each_prompt_once():
    rng = np.random.default_rng(3)
    prefs = rng.choice(["a", "b"], size=40, p=[0.65, 0.35])
    one = votes([(i, "x", "y", p) for i, p in enumerate(prefs)])
    five = votes([(i, "x", "y", p) for i, p in enumerate(prefs) for _ in range(5)])
    (r1,) = wr.win_rates(one, n_boot=0)
    (r5,) = wr.win_rates(five, n_boot=0)
    # One verdict per prompt: both tests are the same test.
    assert r1["p_value_prompts"] == pytest.approx(r1["p_value"])
    assert (r1["prompts_a"], r1["prompts_b"]) == (r1["wins_a"], r1["wins_b"])
    # Five copies of each vote: five times the votes, the same evidence.
    assert r5["p_value_prompts"] == pytest.approx(r1["p_value"])
    assert r5["p_value"] < r1["p_value"] / 10


def test_prompt_majorities_follow_the_votes_within_each_prompt():
    rows = [
        (1, "x", "y", "a"), (1, "x", "y", "a"), (1, "x", "y", "b"),  # x on prompt 1
        (2, "x", "y", "a"), (2, "x", "y", "b"),  # split: left out
        (3, "y", "x", "a"), (3, "x", "y", "tie"),  # y (stored the other way round)
        (4, "x", "y", "tie"),  # no decisive vote: left out
        (5, "x", "y", "a"),  # x
    ]  # fmt: skip
    (r,) = wr.win_rates(votes(rows), systems=["x", "y"], n_boot=0)
    assert (r["system_a"], r["system_b"]) == ("x", "y")
    assert (r["prompts_a"], r["prompts_b"]) == (2, 1)
    assert r["p_value_prompts"] == pytest.approx(1.0)  # binom.test(2, 3)
