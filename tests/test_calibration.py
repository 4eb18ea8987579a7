"""Judge–human calibration on small hand-checked tables."""

from __future__ import annotations

import pandas as pd
import pytest

from sidebyside.analysis import calibration as cal
from sidebyside.analysis.columns import score_column


def human(rows):
    """rows: (pair_id, annotator, preference)."""
    df = pd.DataFrame(rows, columns=["pair_id", "annotator", "preference"])
    return df.assign(system_a="x", system_b="y", len_a=10, len_b=20, first_shown=None)


def judge(rows):
    """rows: (pair_id, winner_ab, winner_ba)."""
    out = []
    for pid, ab, ba in rows:
        pref = ab if ab == ba else "tie"
        out.append((pid, pref, ab, ba, ab != ba))
    df = pd.DataFrame(
        out, columns=["pair_id", "preference", "winner_ab", "winner_ba", "inconsistent"]
    )
    return df.assign(system_a="x", system_b="y", len_a=10, len_b=20)


HUMANS = human(
    [
        (1, "h1", "a"),
        (1, "h2", "a"),
        (1, "h3", "b"),  # majority a
        (2, "h1", "b"),
        (2, "h2", "b"),
        (2, "h3", "b"),  # b
        (3, "h1", "a"),
        (3, "h2", "b"),
        (3, "h3", "tie"),  # no single mode ─► tie
        (4, "h1", "tie"),
        (4, "h2", "tie"),
        (4, "h3", "a"),
    ]  # tie
)


def test_majority():
    assert cal.human_majority(HUMANS).to_dict() == {1: "a", 2: "b", 3: "tie", 4: "tie"}


def test_agreement_with_and_without_ties():
    j = judge([(1, "a", "a"), (2, "a", "a"), (3, "b", "b"), (4, "a", "b")])  # 4 ─► tie
    res = cal.agreement_with_majority(j, HUMANS)
    # pair 1 agree, 2 disagree, 3 (tie vs b) disagree, 4 (tie vs tie) agree
    assert res["agreement_with_majority"] == pytest.approx(0.5)
    # decisive on both sides: pairs 1 and 2 ─► 1 of 2
    assert res["agreement_with_majority_no_ties"] == pytest.approx(0.5)
    assert (res["n_with_humans"], res["n_no_ties"]) == (4, 2)
    cm = res["confusion_matrix"]
    assert cm["labels"] == ["a", "tie", "b"]
    # rows = human majority (a, tie, b), columns = judge
    assert cm["matrix"] == [[1, 0, 0], [0, 1, 1], [1, 0, 0]]
    from sklearn.metrics import cohen_kappa_score

    expected = cohen_kappa_score(["x", "y", "tie", "tie"], ["x", "x", "y", "tie"])
    assert res["cohen_kappa_vs_majority"] == pytest.approx(expected)


def test_loo_comparison_on_equal_footing():
    j = judge([(1, "a", "a"), (2, "b", "b"), (3, "a", "a"), (4, "tie", "tie")])
    res = cal.loo_comparison(j, HUMANS)
    # others' majorities per rating:
    # pair 1: h1 vs {a,b}=tie, h2 vs {a,b}=tie, h3 vs {a,a}=a ─► humans 0/3, judge a: 1/3
    # pair 2: all vs {b,b}=b ─► humans 3/3, judge 3/3
    # pair 3: h1 vs {b,tie}=tie ✗, h2 vs {a,tie}=tie ✗, h3 (tie) vs {a,b}=tie ✓ ─► humans 1/3,
    #         judge (a) 0/3
    # pair 4: h1 vs {tie,a}=tie ✓, h2 vs {tie,a}=tie ✓, h3 vs {tie,tie}=tie ✗ ─► 2/3; judge 3/3
    assert res["n"] == 12
    assert res["human"] == pytest.approx(6 / 12)
    assert res["judge"] == pytest.approx(7 / 12)


def test_position_consistency_and_first_position_rate():
    j = judge([(1, "a", "a"), (2, "a", "b"), (3, "b", "b"), (4, "a", "tie")])
    rate, n = cal.position_consistency(j)
    assert (rate, n) == (0.5, 4)
    # order ab: a(first), a(first), b, a(first); order ba: a, b(first), b(first) ─► 5 of 7
    rate, n = cal.first_position_rate(j)
    assert (rate, n) == (pytest.approx(5 / 7), 7)
    imported = j.assign(winner_ab=None, winner_ba=None, first_shown=None)
    assert cal.position_consistency(imported) == (None, 0)
    assert cal.first_position_rate(imported) == (None, 0)


def test_first_position_rate_for_humans():
    h = human([(1, "h1", "a"), (2, "h1", "b"), (3, "h1", "b"), (4, "h1", "tie")])
    h["first_shown"] = ["a", "a", "b", "b"]
    assert cal.first_position_rate(h) == (pytest.approx(2 / 3), 3)


def test_prefers_longer():
    df = pd.DataFrame(
        {
            "preference": ["a", "b", "b", "tie", "a"],
            "len_a": [5, 5, 9, 1, 3],
            "len_b": [9, 9, 5, 9, 3],
        }
    )
    # decisive with different lengths: rows 0 (a shorter), 1 (b longer), 2 (b shorter)
    assert cal.prefers_longer_rate(df) == (pytest.approx(1 / 3), 3)


def test_calibrate_without_humans_keeps_the_judges_own_figures():
    j = judge([(1, "a", "a"), (2, "a", "b")])
    res = cal.calibrate(j, HUMANS.iloc[0:0])
    assert res["agreement_with_majority"] is None and res["cohen_kappa_vs_majority"] is None
    assert res["human_loo_agreement"] is None and res["human_prefers_longer_rate"] is None
    assert res["position_consistency"] == 0.5 and res["n"] == 2
    assert res["first_position_rate"] is not None and res["prefers_longer_rate"] == 0.0
    assert res["tie_rate"] == 0.5 and res["inconsistent_rate"] == 0.5


def test_score_correlations_match_scipy():
    from scipy.stats import kendalltau, spearmanr

    h = pd.DataFrame(
        {
            "pair_id": [1, 1, 2, 3],
            "annotator": ["u", "v", "u", "u"],
            score_column("Accuracy", "a"): [2, 4, 5, 1],
            score_column("Accuracy", "b"): [3, 3, 2, 4],
            score_column("Fluency", "a"): [3, 3, 5, 2],
            score_column("Fluency", "b"): [4, 4, 1, 5],
        }
    )
    js = pd.DataFrame(
        {
            "pair_id": [1, 1, 2, 2, 3, 3],
            "side": ["a", "b"] * 3,
            "criterion": ["accuracy"] * 6,
            "score": [3, 4, 5, 1, 2, 4],
        }
    )
    (row,) = cal.score_correlations(js, h, ["Accuracy", "Fluency"])
    human_means = [3, 3, 5, 2, 1, 4]  # (pair, side) means of Accuracy
    assert row["criterion"] == "Accuracy" and row["n"] == 6
    assert row["spearman"] == pytest.approx(spearmanr([3, 4, 5, 1, 2, 4], human_means).statistic)
    assert row["kendall"] == pytest.approx(kendalltau([3, 4, 5, 1, 2, 4], human_means).statistic)
