"""Judges compared: agreement with the human majority, paired intervals, McNemar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from sidebyside.analysis.judge_compare import compare_judges


def humans(majorities: list[str]) -> pd.DataFrame:
    """Three raters per pair, all giving the pair's majority."""
    rows = [(p, f"u{k}", m) for p, m in enumerate(majorities) for k in range(3)]
    return pd.DataFrame(rows, columns=["pair_id", "annotator", "preference"])


def judge(verdicts: list[str | None]) -> pd.DataFrame:
    rows = [(p, v) for p, v in enumerate(verdicts) if v is not None]
    return pd.DataFrame(rows, columns=["pair_id", "preference"])


def test_agreement_counts_and_ranking():
    maj = ["a", "a", "b", "b", "tie", "a", "b", "a"]
    good = ["a", "a", "b", "b", "tie", "a", "b", "b"]  # 7 of 8
    poor = ["a", "b", "a", "b", "a", "tie", None, "a"]  # 3 of 7 judged
    out = compare_judges({"poor": judge(poor), "good": judge(good)}, humans(maj), n_boot=300)
    ranked = out["judges"]
    assert [r["judge"] for r in ranked] == ["good", "poor"]
    g, p = ranked
    assert g["agreement"] == pytest.approx(7 / 8) and g["n"] == 8
    assert g["agreement_no_ties"] == pytest.approx(6 / 7) and g["n_no_ties"] == 7
    assert p["agreement"] == pytest.approx(3 / 7) and p["n"] == 7
    assert p["agreement_no_ties"] == pytest.approx(3 / 5) and p["n_no_ties"] == 5
    assert g["ci_low"] <= g["agreement"] <= g["ci_high"]
    (pair,) = out["pairwise"]
    assert (pair["judge_1"], pair["judge_2"], pair["n_shared"]) == ("good", "poor", 7)
    # On the 7 shared pairs good agrees on 6, poor on 3: good alone on pairs 1, 2, 4 and 5,
    # poor alone on pair 7.
    assert (pair["only_1"], pair["only_2"]) == (4, 1)
    assert pair["difference"] == pytest.approx(3 / 7)
    assert pair["p_value"] == pytest.approx(binomtest(4, 5, 0.5).pvalue)  # exact McNemar


def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs():
    rng = np.random.default_rng(7)
    maj = list(rng.choice(["a", "b"], size=300))
    first = [m if rng.random() < 0.8 else ("b" if m == "a" else "a") for m in maj]
    second = [m if rng.random() < 0.7 else ("b" if m == "a" else "a") for m in maj]
    out = compare_judges({"j1": judge(first), "j2": judge(second)}, humans(maj), n_boot=500)
    (pair,) = out["pairwise"]
    expected = binomtest(pair["only_1"], pair["only_1"] + pair["only_2"], 0.5).pvalue
    assert pair["p_value"] == pytest.approx(expected)
    assert pair["ci_low"] <= pair["difference"] <= pair["ci_high"]
    assert pair["difference"] == pytest.approx(
        out["judges"][0]["agreement"] - out["judges"][1]["agreement"]
    )  # both judged every pair


def test_identical_judges_do_not_differ():
    maj = ["a", "b", "a", "tie", "b"]
    same = ["a", "a", "a", "tie", "b"]
    out = compare_judges({"x": judge(same), "y": judge(same)}, humans(maj), n_boot=100)
    (pair,) = out["pairwise"]
    assert pair["difference"] == 0 and (pair["ci_low"], pair["ci_high"]) == (0, 0)
    assert pair["p_value"] is None  # no discordant pair: nothing to test


def test_nothing_to_compare_without_humans_or_judges():
    assert compare_judges({"x": judge(["a"])}, humans([]).iloc[:0]) is None
    assert compare_judges({}, humans(["a"])) is None
    out = compare_judges({"x": judge(["a", "b"])}, humans(["a", "a"]), n_boot=0)
    assert out["judges"][0]["ci_low"] is None and out["pairwise"] == []
