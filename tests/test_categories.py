"""Win rates per prompt category: the same figures as on the category's own votes, one
orientation throughout, and bootstraps that stay inside each category."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from sidebyside.analysis import winrates as wr
from sidebyside.analysis.bootstrap import stratified_resample_sums
from sidebyside.analysis.categories import UNCATEGORISED, by_category
from sidebyside.analysis.report import render, report_for_study
from sidebyside.foundation.models import Prompt
from tests.analysis_helpers import build_study, pair_of, rate


def votes(rows):
    return pd.DataFrame(
        rows, columns=["prompt_id", "system_a", "system_b", "preference", "category"]
    )


def sample(seed: int = 0) -> pd.DataFrame:
    """tuned wins coding 80% of the time and loses writing 70% of the time."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(120):
        category = ["coding", "writing", None][p % 3]
        p_tuned = {"coding": 0.8, "writing": 0.3, None: 0.5}[category]
        pref = "b" if rng.random() < p_tuned else "a"
        if p % 2:  # half the pairs stored the other way round
            rows.append((p, "tuned", "base", {"a": "b", "b": "a"}[pref], category))
        else:
            rows.append((p, "base", "tuned", pref, category))
    return votes(rows)


def test_each_category_matches_win_rates_on_its_own_votes():
    v = sample()
    overall = wr.win_rates(v, systems=["base", "tuned"], n_boot=0)
    rows = by_category(v, overall, systems=["base", "tuned"], n_boot=400)
    assert [r["category"] for r in rows] == ["coding", "writing", UNCATEGORISED]
    for r in rows:
        assert (r["system_a"], r["system_b"]) == (overall[0]["system_a"], overall[0]["system_b"])
        label = None if r["category"] == UNCATEGORISED else r["category"]
        part = v[v["category"].isna()] if label is None else v[v["category"] == label]
        (own,) = wr.win_rates(part, systems=["base", "tuned"], n_boot=0)
        if (own["system_a"], own["system_b"]) != (r["system_a"], r["system_b"]):
            own = {**own, "win_rate_a": 1 - own["win_rate_a"]}
        assert r["win_rate_a"] == pytest.approx(own["win_rate_a"])
        assert r["n_prompts"] == 40
        assert r["boot_ci_low"] <= r["win_rate_a"] <= r["boot_ci_high"]
    coding, writing, _ = rows
    tuned_is_b = overall[0]["system_b"] == "tuned"
    assert (coding["win_rate_a"] < 0.5) == tuned_is_b  # tuned wins coding
    assert (writing["win_rate_a"] > 0.5) == tuned_is_b  # and loses writing


def test_stratified_bootstrap_never_mixes_strata():
    x = np.arange(10.0)[:, None]
    strata = np.array(["a"] * 3 + ["b"] * 7)
    out = stratified_resample_sums(x, strata, n_boot=300, seed=1)
    assert np.all(out["a"] <= 3 * 2) and np.all(out["b"] >= 7 * 3)  # sums of own values only
    assert out["a"].mean() == pytest.approx(3 * 1.0, abs=0.2)  # mean of {0,1,2} times 3


def test_no_categories_no_section():
    v = sample().assign(category=None)
    assert by_category(v, None, n_boot=0) is None


def test_report_and_markdown_break_results_down_by_category(session):
    # ten prompts per category: the minimum a win rate is shown from (issue 22)
    b = build_study(session, systems=("base", "tuned"), n_prompts=20)
    for prompt in session.exec(select(Prompt)):
        prompt.category = "coding" if int(prompt.external_id[1:]) % 2 else "writing"
        session.add(prompt)
    session.commit()
    for i in range(20):
        pid, _ = pair_of(b, i, "base", "tuned")
        rate(session, b, "u1", pid, "b" if i % 2 else "a")
    r = report_for_study(session, b.study, n_boot=200)
    rows = {x.category: x for x in r.human.by_category}
    assert rows["coding"].wins_b == 10 and rows["writing"].wins_a == 10
    md = render(r, "md")
    assert "| coding | base | tuned | 0.000 |" in md and "| writing | base | tuned | 1.000 |" in md


def test_a_category_without_some_system_keeps_its_intervals_right():
    """'math' only compares base and big: its bootstrap must not read another pair's sums."""
    rng = np.random.default_rng(5)
    rows = []
    for p in range(90):
        if p % 2:
            rows.append((p, "base", "tuned", "a" if rng.random() < 0.9 else "b", "chat"))
            rows.append((p, "tuned", "big", "b", "chat"))
        else:
            rows.append((p, "base", "big", "b" if rng.random() < 0.85 else "a", "math"))
    v = votes(rows)
    systems = ["base", "tuned", "big"]
    overall = wr.win_rates(v, systems=systems, n_boot=0)
    rows_out = by_category(v, overall, systems=systems, n_boot=500)
    (math,) = [r for r in rows_out if r["category"] == "math"]
    assert (math["system_a"], math["system_b"]) == ("base", "big")
    assert math["boot_ci_low"] <= math["win_rate_a"] <= math["boot_ci_high"] < 0.5
    (alone,) = wr.win_rates(v[v["category"] == "math"], systems=systems, n_boot=500, seed=0)
    assert math["boot_ci_high"] == pytest.approx(alone["boot_ci_high"], abs=0.05)


def test_category_rows_carry_the_headline_call():
    v = sample()
    overall = wr.win_rates(v, systems=["base", "tuned"], n_boot=0)
    rows = {r["category"]: r for r in by_category(v, overall, systems=["base", "tuned"])}
    assert rows["coding"]["winner"] == "tuned" and rows["writing"]["winner"] == "base"
