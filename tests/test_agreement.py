"""Agreement statistics, proven on published values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sidebyside.analysis import agreement as ag

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
# 12 units, values 1-5, missing data.
K2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]
K2011_ALPHA = {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}

# Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses (R irr::diagnoses); kappa 0.4302.
DIAGNOSES = np.array(
    [
        [4, 4, 4, 4, 4, 4],
        [2, 2, 2, 5, 5, 5],
        [2, 3, 3, 3, 3, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 2, 2, 4, 4, 4],
        [1, 1, 3, 3, 3, 3],
        [3, 3, 3, 3, 5, 5],
        [1, 1, 3, 3, 3, 4],
        [1, 1, 4, 4, 4, 4],
        [5, 5, 5, 5, 5, 5],
        [1, 4, 4, 4, 4, 4],
        [1, 2, 4, 4, 4, 4],
        [2, 2, 2, 3, 3, 3],
        [1, 4, 4, 4, 4, 4],
        [2, 2, 4, 4, 4, 5],
        [3, 3, 3, 3, 3, 5],
        [1, 1, 1, 4, 5, 5],
        [1, 1, 1, 1, 1, 2],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 5, 5, 5],
        [5, 5, 5, 5, 5, 5],
        [2, 4, 4, 4, 4, 4],
        [2, 2, 4, 5, 5, 5],
        [1, 1, 4, 4, 4, 4],
        [1, 4, 4, 4, 4, 5],
        [2, 2, 2, 2, 2, 4],
        [1, 1, 1, 1, 5, 5],
        [2, 2, 4, 4, 4, 4],
        [1, 3, 3, 3, 3, 3],
        [5, 5, 5, 5, 5, 5],
    ]
)

# R irr::anxiety (20 subjects, 3 raters); kappa2(anxiety[,2:3]) = -0.00629, "squared" 0.2520.
ANXIETY = np.array(
    [
        3,
        3,
        3,
        4,
        5,
        5,
        2,
        3,
        5,
        2,
        2,
        6,
        1,
        5,
        2,
        2,
        1,
        2,
        4,
        3,
        3,
        6,
        4,
        6,
        2,
        4,
        2,
        4,
        3,
        3,
        2,
        3,
        3,
        3,
        2,
        2,
        1,
        3,
        3,
        4,
        2,
        1,
        4,
        4,
        3,
        2,
        1,
        6,
        1,
        1,
        1,
        2,
        3,
        3,
        1,
        1,
        3,
        3,
        2,
        2,
    ]
).reshape(20, 3, order="F")


def k2011_counts():
    long = ag.wide_to_long(pd.DataFrame(K2011).T)
    return ag.value_counts(long["item"], long["value"], domain=[1, 2, 3, 4, 5])


@pytest.mark.parametrize("level", ag.LEVELS)
def test_krippendorff_2011_example(level):
    counts, domain = k2011_counts()
    assert ag.krippendorff_alpha(counts, domain, level) == pytest.approx(
        K2011_ALPHA[level], abs=5e-4
    )


@pytest.mark.parametrize("level", ag.LEVELS)
def test_vectorised_alpha_equals_the_package(level):
    """The bootstrap's own alpha must equal ``krippendorff.alpha`` exactly."""
    counts, domain = k2011_counts()
    o = ag.unit_coincidences(counts).sum(axis=0)
    assert float(ag.alpha_from_coincidences(o, domain, level)) == pytest.approx(
        ag.krippendorff_alpha(counts, domain, level), abs=1e-12
    )
    rng = np.random.default_rng(level.__len__())
    random_counts = rng.integers(0, 3, size=(200, 5))
    o = ag.unit_coincidences(random_counts).sum(axis=0)
    dom = np.arange(1.0, 6.0)
    assert float(ag.alpha_from_coincidences(o, dom, level)) == pytest.approx(
        ag.krippendorff_alpha(random_counts, dom, level), abs=1e-12
    )


def test_krippendorff_binary_example():
    """Krippendorff (2011) section A: two observers, ten units, binary data, alpha 0.095."""
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    long = ag.wide_to_long(pd.DataFrame({"A": a, "B": b}))
    counts, dom = ag.value_counts(long["item"], long["value"])
    assert ag.krippendorff_alpha(counts, dom, "nominal") == pytest.approx(0.095, abs=5e-4)


def test_alpha_ci_brackets_the_estimate_and_is_seeded(monkeypatch):
    monkeypatch.setenv("SIDEBYSIDE_MIN_OVERLAP", "10")  # the textbook's 11 units are enough
    counts, domain = k2011_counts()
    r1 = ag.alpha_with_ci(counts, domain, "interval", n_boot=500, seed=3)
    r2 = ag.alpha_with_ci(counts, domain, "interval", n_boot=500, seed=3)
    assert r1 == r2
    assert r1["ci_low"] < r1["alpha"] < r1["ci_high"] <= 1.0
    assert r1["n_units"] == 11  # unit 12 has a single value
    assert r1["reading"].startswith("reliable")
    monkeypatch.setenv("SIDEBYSIDE_MIN_OVERLAP", "20")  # the default: 11 are too few to read
    r3 = ag.alpha_with_ci(counts, domain, "interval", n_boot=0)
    assert r3["reading"].startswith("too few to say (n = 11)")


def test_alpha_undefined_cases():
    assert (
        ag.krippendorff_alpha(np.array([[2, 0], [3, 0]]), np.array(["x", "y"]), "nominal") is None
    )
    assert (
        ag.krippendorff_alpha(np.array([[1, 0], [0, 1]]), np.array(["x", "y"]), "nominal") is None
    )
    res = ag.alpha_with_ci(np.array([[2, 0]]), np.array(["x", "y"]), "nominal", n_boot=10)
    assert res["alpha"] is None and res["ci_low"] is None
    assert res["reading"].startswith("not defined")


@pytest.mark.parametrize(
    ("alpha", "word"),
    [
        (0.9, "reliable"),
        (0.8, "reliable"),
        (0.7, "tentative"),
        (0.667, "tentative"),
        (0.5, "unreliable"),
        (-0.1, "systematic"),
        (None, "not defined"),
    ],
)
def test_interpretation_thresholds(alpha, word):
    assert ag.interpret_alpha(alpha).startswith(word)


def test_fleiss_1971_diagnoses():
    long = ag.wide_to_long(pd.DataFrame(DIAGNOSES))
    counts, _ = ag.value_counts(long["item"], long["value"])
    assert ag.fleiss_kappa(counts) == pytest.approx(0.4302445, abs=1e-7)


def test_fleiss_needs_equal_raters():
    assert ag.fleiss_kappa(np.array([[2, 1], [1, 1]])) is None
    assert ag.fleiss_kappa(np.array([[1, 0], [0, 1]])) is None  # one rater each
    assert ag.fleiss_kappa(np.array([[3, 0], [3, 0]])) is None  # one category: undefined
    assert ag.fleiss_kappa(np.array([[3, 0], [0, 0], [0, 3]])) == pytest.approx(1.0)


def test_cohen_kappa_textbook_tables():
    # Wikipedia "Cohen's kappa": 45/15/25/15 ─► 0.1304; 25/35/5/35 ─► 0.2593.
    def table(yy, yn, ny, nn):
        a = ["y"] * (yy + yn) + ["n"] * (ny + nn)
        b = ["y"] * yy + ["n"] * yn + ["y"] * ny + ["n"] * nn
        return a, b

    assert ag.cohen_kappa(*table(20, 5, 10, 15)) == pytest.approx(0.4)
    assert ag.cohen_kappa(*table(45, 15, 25, 15)) == pytest.approx(0.1304, abs=1e-4)
    assert ag.cohen_kappa(*table(25, 35, 5, 35)) == pytest.approx(0.2593, abs=1e-4)


def test_weighted_kappa_on_r_irr_anxiety():
    long = ag.wide_to_long(pd.DataFrame(ANXIETY[:, 1:], columns=["r2", "r3"]))
    plain = ag.pairwise_cohen_kappa(long)
    squared = ag.pairwise_cohen_kappa(long, weights="quadratic")
    assert plain[0]["kappa"] == pytest.approx(-0.006289308, abs=1e-8)
    assert squared[0]["kappa"] == pytest.approx(0.2520325, abs=1e-7)
    assert squared[0] | {"kappa": 0} == {
        "annotator_1": "r2",
        "annotator_2": "r3",
        "kappa": 0,
        "n": 20,
    }


def test_pairwise_kappa_skips_pairs_with_few_shared_items():
    long = pd.DataFrame(
        {
            "item": [1, 2, 3, 1, 2, 3, 4],
            "annotator": ["x"] * 3 + ["y"] * 3 + ["z"],
            "value": ["a", "b", "a", "a", "b", "b", "a"],
        }
    )
    rows = ag.pairwise_cohen_kappa(long, min_shared=3)
    assert [(r["annotator_1"], r["annotator_2"], r["n"]) for r in rows] == [("x", "y", 3)]


def test_percent_agreement():
    counts = np.array([[3, 0], [2, 1], [1, 0]])  # last unit has one rating: ignored
    assert ag.percent_agreement(counts) == pytest.approx((1 + 1 / 3) / 2)
    assert ag.percent_agreement(np.array([[1, 0]])) is None


def test_loo_agreement_spots_the_careless_rater():
    rng = np.random.default_rng(0)
    rows = []
    for item in range(200):
        truth = rng.choice(["a", "b"])
        for ann in ("r1", "r2", "r3"):
            rows.append((item, ann, truth if rng.random() < 0.9 else rng.choice(["a", "b"])))
        rows.append((item, "careless", rng.choice(["a", "b", "tie"])))
    long = pd.DataFrame(rows, columns=["item", "annotator", "value"])
    res = {r["annotator"]: r for r in ag.loo_agreement(long, tie_value="tie")}
    assert res["careless"]["agreement"] < 0.5 < min(res[a]["agreement"] for a in ("r1", "r2"))
    assert all(r["n"] == 200 for r in res.values())


def test_loo_agreement_hand_example():
    long = pd.DataFrame(
        {
            "item": [1, 1, 1, 2, 2, 3],
            "annotator": ["x", "y", "z", "x", "y", "x"],
            "value": ["a", "a", "b", "a", "b", "a"],
        }
    )
    res = {r["annotator"]: r for r in ag.loo_agreement(long, tie_value="tie")}
    # item 1: x vs {a,b} ─► tie (no), y vs {a,b} ─► tie (no), z vs {a,a} ─► a (no)
    # item 2: x vs {b} (no), y vs {a} (no); item 3: x alone ─► skipped
    assert res["x"]["n"] == 2 and res["x"]["agreement"] == 0
    assert res["x"]["n_no_ties"] == 1 and res["x"]["agreement_no_ties"] == 0
    # without a tie value, ambiguous majorities are skipped
    res = {r["annotator"]: r for r in ag.loo_agreement(long)}
    assert res["x"]["n"] == 1 and res["z"]["n"] == 1


def test_bad_input_raises_precise_errors():
    with pytest.raises(ValueError, match="level must be one of"):
        ag.check_level("cardinal")
    dup = pd.DataFrame({"item": [1, 1], "annotator": ["x", "x"], "value": [1, 2]})
    with pytest.raises(ValueError, match="'x' gave item 1 more than one value"):
        ag.check_long(dup)
    with pytest.raises(ValueError, match="not in the domain"):
        ag.value_counts([1], [9], domain=[1, 2])
    with pytest.raises(ValueError, match="needs numbers"):
        ag.agreement_summary(
            pd.DataFrame({"item": [1], "annotator": ["x"], "value": ["high"]}), "interval"
        )


def test_summary_on_krippendorff_example():
    long = ag.wide_to_long(pd.DataFrame(K2011).T)
    s = ag.agreement_summary(long, "nominal", n_boot=200)
    assert s["krippendorff_alpha"]["alpha"] == pytest.approx(0.743, abs=5e-4)
    assert s["n_items"] == 12 and s["n_annotators"] == 4 and s["n_ratings"] == 41
    assert s["fleiss_kappa"] is None  # raters per unit differ
    assert len(s["pairwise_cohen_kappa"]) == 6


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_table_kappa_equals_sklearn(weights):
    from sklearn.metrics import cohen_kappa_score

    rng = np.random.default_rng(7)
    a = rng.integers(0, 5, 300)
    b = np.clip(a + rng.integers(-1, 2, 300), 0, 4)
    table = np.bincount(a * 5 + b, minlength=25).reshape(5, 5)
    expected = cohen_kappa_score(a, b, weights=weights, labels=list(range(5)))
    assert ag.kappa_from_table(table, weights=weights) == pytest.approx(expected, abs=1e-12)
    assert ag.kappa_from_table(np.array([[4, 0], [0, 0]]), weights=weights) is None
