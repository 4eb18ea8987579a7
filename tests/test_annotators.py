"""Per-annotator figures and the flags that point a reviewer at a careless rater."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sidebyside.analysis import agreement as ag
from sidebyside.analysis.annotators import annotator_quality


def ratings(n_pairs: int = 60, seed: int = 0) -> pd.DataFrame:
    """Five raters on every pair. Three careful ones follow the truth (90%), 'clicker' picks
    whatever is shown first, 'rusher' takes 4 s a pair, 'fence' says tie half the time."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(["a", "b"], size=n_pairs)
    rows = []
    for p in range(n_pairs):
        for name in ("ann1", "ann2", "ann3", "clicker", "fence"):
            first = "a" if rng.random() < 0.5 else "b"
            if name == "clicker":
                pref = first
            elif name == "fence" and rng.random() < 0.5:
                pref = "tie"
            else:
                pref = truth[p] if rng.random() < 0.9 else ("b" if truth[p] == "a" else "a")
            seconds = 4.0 if name == "ann3" else 40.0 + rng.normal(0, 5)
            rows.append((p, name, pref, first, 100, 100 + p, seconds))
    return pd.DataFrame(
        rows,
        columns=["pair_id", "annotator", "preference", "first_shown", "len_a", "len_b",
                 "time_spent_s"],
    )  # fmt: skip


def quality(df: pd.DataFrame) -> dict[str, dict]:
    long = df[["pair_id", "annotator", "preference"]].set_axis(
        ["item", "annotator", "value"], axis=1
    )
    loo = ag.loo_agreement(long, tie_value="tie")
    return {r["annotator"]: r for r in annotator_quality(df, loo)}


def test_each_careless_habit_is_flagged_and_nobody_else():
    q = quality(ratings())
    assert q["clicker"]["flags"] == ["low agreement", "position bias"]
    assert q["clicker"]["first_position_rate"] == 1.0
    assert q["ann3"]["flags"] == ["fast"] and q["ann3"]["median_seconds"] == 4.0
    assert q["fence"]["flags"] == ["low agreement", "many ties"]  # ties disagree too
    assert q["ann1"]["flags"] == [] and q["ann2"]["flags"] == []
    assert q["ann1"]["first_position_p_value"] > 0.01  # sides are random for a careful rater
    assert q["ann1"]["n_ratings"] == 60 and q["ann1"]["loo_n"] == 60


def test_too_few_ratings_raise_no_flags():
    q = quality(ratings(n_pairs=8))
    assert all(r["flags"] == [] for r in q.values())


def test_longer_rate_and_missing_times():
    df = ratings(n_pairs=30)
    df["time_spent_s"] = None  # imported ratings carry no time
    q = quality(df)
    assert q["ann1"]["median_seconds"] is None and "fast" not in q["ann3"]["flags"]
    # len_b > len_a on every pair but the first: "longer wins" is the share of b votes there.
    sub = df[(df["annotator"] == "ann1") & df["preference"].isin(["a", "b"]) & (df["pair_id"] > 0)]
    assert q["ann1"]["prefers_longer_rate"] == (sub["preference"] == "b").mean()
    assert annotator_quality(df.iloc[:0]) is None
