"""Length-controlled win rates: the fit, its orientation, and where it declines to answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from sidebyside.analysis.length_control import length_controlled

ROW = {"system_a": "tuned", "system_b": "base", "win_rate_a": None}


def simulate(n_prompts: int = 150, votes_per_pair: int = 3, seed: int = 0) -> pd.DataFrame:
    """tuned is usually longer; voters like length and, a little, tuned itself."""
    rng = np.random.default_rng(seed)
    len_a = rng.integers(200, 1200, n_prompts)
    len_b = rng.integers(100, 900, n_prompts)
    x = np.tanh((len_a - len_b) / 400)
    p = expit(0.4 + 1.5 * x)
    rows = []
    for i in range(n_prompts):
        for _ in range(votes_per_pair):
            u = rng.random()
            pref = "tie" if u < 0.1 else ("a" if u < 0.1 + 0.9 * p[i] else "b")
            rows.append((i, i, "tuned", "base", pref, len_a[i], len_b[i]))
    return pd.DataFrame(
        rows,
        columns=["pair_id", "prompt_id", "system_a", "system_b", "preference", "len_a", "len_b"],
    )


def test_matches_a_vote_level_glm():
    """Aggregating votes per pair changes nothing: the same fit as on the raw votes."""
    votes = simulate()
    (row,) = length_controlled(votes, [ROW])
    y = votes["preference"].map({"a": 1.0, "b": 0.0, "tie": 0.5}).to_numpy()
    delta = (votes["len_a"] - votes["len_b"]).to_numpy(dtype=float)
    per_pair_sd = np.std(delta[::3])  # the module scales by the spread over pairs
    design = sm.add_constant(np.tanh(delta / per_pair_sd))
    fit = sm.GLM(y, design, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": votes["prompt_id"].to_numpy()}
    )
    assert row["lc_win_rate_a"] == pytest.approx(expit(fit.params[0]), rel=1e-6)
    assert row["length_coef"] == pytest.approx(fit.params[1], rel=1e-6)
    z = 1.959963984540054
    # The sandwich's small-sample factor counts observations (pairs here, votes there).
    assert row["ci_low"] == pytest.approx(expit(fit.params[0] - z * fit.bse[0]), rel=1e-3)
    assert row["length_coef"] > 0 and row["length_p_value"] < 0.01
    assert row["n_pairs"] == 150


def test_orientation_does_not_matter():
    votes = simulate(seed=2)
    (row,) = length_controlled(votes, [ROW])
    flipped = votes.copy()
    flip = flipped.index % 2 == 0  # half the votes stored the other way round
    flipped.loc[flip, ["system_a", "system_b"]] = ["base", "tuned"]
    flipped.loc[flip, ["len_a", "len_b"]] = votes.loc[flip, ["len_b", "len_a"]].to_numpy()
    flipped.loc[flip, "preference"] = votes.loc[flip, "preference"].map(
        {"a": "b", "b": "a", "tie": "tie"}
    )
    (again,) = length_controlled(flipped, [ROW])
    for key in ("lc_win_rate_a", "ci_low", "ci_high", "length_coef"):
        assert again[key] == pytest.approx(row[key], rel=1e-9)
    (reverse,) = length_controlled(votes, [dict(ROW, system_a="base", system_b="tuned")])
    assert reverse["lc_win_rate_a"] == pytest.approx(1 - row["lc_win_rate_a"], rel=1e-9)
    assert reverse["length_coef"] == pytest.approx(row["length_coef"], rel=1e-9)


def test_clustered_interval_is_wider_than_counting_votes_as_independent():
    one = length_controlled(simulate(votes_per_pair=1, seed=5), [ROW])[0]
    three = simulate(votes_per_pair=1, seed=5).loc[lambda d: d.index.repeat(3)]
    copied = length_controlled(three.reset_index(drop=True), [ROW])[0]
    # Three copies of each vote are no new evidence: the same point and the same interval.
    assert copied["lc_win_rate_a"] == pytest.approx(one["lc_win_rate_a"], rel=1e-9)
    assert copied["ci_high"] - copied["ci_low"] == pytest.approx(
        one["ci_high"] - one["ci_low"], rel=1e-6
    )


@pytest.mark.parametrize(
    ("case", "reason"),
    [("two pairs", "2 rated pair(s): the fit needs at least 3"),
     ("equal lengths", "no length variation")],
)  # fmt: skip
def test_declines_where_the_model_cannot_be_fitted(case, reason):
    votes = simulate(n_prompts=20, votes_per_pair=1)
    if case == "two pairs":
        votes = votes.head(2)
    else:
        votes["len_b"] = votes["len_a"]
    (row,) = length_controlled(votes, [ROW])
    assert row["lc_win_rate_a"] is None and row["ci_low"] is None and row["length_coef"] is None
    assert row["method"] is None and row["reason"].startswith(reason)
    assert row["n_pairs"] == len(votes)


def gamed(n: int = 805, n_short: int = 768) -> pd.DataFrame:
    """AlpacaEval's gpt4_gamed against its reference: most answers 10 characters long, and
    no vote for it at all."""
    rng = np.random.default_rng(4)
    len_a = np.where(np.arange(n) < n_short, 10, rng.integers(200, 3000, n))
    return pd.DataFrame(
        {"pair_id": range(n), "prompt_id": range(n), "system_a": "gpt4_gamed",
         "system_b": "gpt4_1106_preview", "preference": "b", "len_a": len_a,
         "len_b": rng.integers(500, 4000, n)}
    )  # fmt: skip


def _penalised_gradient(row, votes) -> np.ndarray:
    """The numerical gradient of Firth's objective at the reported estimate."""
    from sidebyside.analysis.length_control import _penalised_loglik

    y = (votes["preference"] == "a").to_numpy(float)
    delta = (votes["len_a"] - votes["len_b"]).to_numpy(float)
    design = np.column_stack([np.ones(len(y)), np.tanh(delta / row["length_sd"])])
    b = np.array([np.log(row["lc_win_rate_a"] / (1 - row["lc_win_rate_a"])), row["length_coef"]])
    eps = 1e-5
    return np.array(
        [(_penalised_loglik(design, y, np.ones(len(y)), b + e)
          - _penalised_loglik(design, y, np.ones(len(y)), b - e)) / (2 * eps)
         for e in np.eye(2) * eps]
    )  # fmt: skip


def test_a_study_that_never_wins_gets_firths_estimate():
    """Maximum likelihood runs off to zero; Firth's penalised fit is finite, says why it was
    used, and is the maximum of its objective."""
    votes = gamed()
    (row,) = length_controlled(votes, [dict(ROW, system_a="gpt4_gamed",
                                            system_b="gpt4_1106_preview")])  # fmt: skip
    assert row["method"] == "firth" and row["reason"].startswith("every vote went to B")
    assert 0 < row["ci_low"] < row["lc_win_rate_a"] < row["ci_high"] < 0.05
    assert np.isfinite(row["length_coef"])
    assert np.abs(_penalised_gradient(row, votes)).max() < 1e-4


def test_perfect_separation_by_length_gets_firths_estimate():
    """A wins exactly when its answer is longer: the likelihood has no maximum."""
    votes = simulate(n_prompts=60, votes_per_pair=1)
    votes["preference"] = np.where(votes["len_a"] > votes["len_b"], "a", "b")
    (row,) = length_controlled(votes, [ROW])
    assert row["method"] == "firth" and "separate" in row["reason"]
    assert row["length_coef"] > 2 and 0 < row["ci_low"] < row["ci_high"] < 1
    assert np.abs(_penalised_gradient(row, votes)).max() < 1e-4
    (ordinary,) = length_controlled(simulate(), [ROW])
    assert ordinary["method"] == "maximum likelihood" and ordinary["reason"] is None


def test_no_win_rates_no_rows():
    assert length_controlled(simulate(), None) is None
    with pytest.raises(ValueError, match="len_a and len_b"):
        length_controlled(simulate().drop(columns="len_a"), [ROW])
