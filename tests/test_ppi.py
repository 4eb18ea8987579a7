"""Prediction-powered win rates (analysis.ppi): the estimate by hand, the pairs it uses, the
report's ``judges.<key>.win_rates[].ppi``, and planted studies with a biased judge."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.ppi_coverage import coverage
from sidebyside.analysis import ppi
from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report, render
from sidebyside.analysis.report_md import PPI_TITLE, ppi_cells
from tests.analysis_helpers import build_study, pair_of, rate, verdict

Y = np.array([1.0, 0.0, 1.0, 0.5])  # humans on four pairs
YHAT = np.array([1.0, 0.0, 0.0, 0.5])  # the judge on the same four
YHAT_U = np.array([1.0, 1.0, 0.0, 1.0])  # the judge on four pairs no human rated


def test_plain_ppi_by_hand():
    r = ppi.ppi_win_rate(Y, YHAT, YHAT_U, lam=1.0)
    # 0.75 (the judge on the unrated pairs) + 0.25 (humans − judge on the rated ones)
    assert r["win_rate_a"] == pytest.approx(1.0)
    # se² = var(ŷ unlabelled)/4 + var(y − ŷ)/4 = 0.1875/4 + 0.1875/4 (population variances)
    se = math.sqrt(0.1875 / 4 + 0.1875 / 4)
    assert r["ci_low"] == pytest.approx(1.0 - 1.959964 * se, abs=1e-6)
    assert r["ci_high"] == 1.0  # 1 + 1.96·se, clipped to a win rate
    assert (r["n_human"], r["n_judge"], r["reason"]) == (4, 8, None)


def test_power_tuned_ppi_by_hand():
    # PPI++: λ = cov(y, ŷ) / ((1 + n/N) · var(all ŷ)) = 0.078125 / (2 · 1.71875/7) = 7/44
    # (cov with 1/n, var with 1/(n+N−1)); estimate = mean(y) + λ·(mean(ŷ_u) − mean(ŷ))
    lam = 7 / 44
    r = ppi.ppi_win_rate(Y, YHAT, YHAT_U)
    assert r["win_rate_a"] == pytest.approx(0.625 + lam * (0.75 - 0.375))
    fixed = ppi.ppi_win_rate(Y, YHAT, YHAT_U, lam=lam)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((fixed["ci_low"], fixed["ci_high"]))
    humans = ppi.ppi_win_rate(Y, YHAT, YHAT_U, lam=0.0)  # λ = 0: the humans alone
    assert humans["win_rate_a"] == pytest.approx(0.625)
    assert humans["n_effective"] == 4  # as narrow as itself


def test_a_judge_without_information_falls_back_to_the_humans():
    r = ppi.ppi_win_rate(Y, np.full(4, 1.0), np.full(6, 1.0))  # says A every time
    assert r["win_rate_a"] == pytest.approx(Y.mean())
    assert r["n_effective"] == 4


def test_absent_with_a_reason():
    one = ppi.ppi_win_rate(Y[:1], YHAT[:1], YHAT_U)
    assert one["win_rate_a"] is None and one["reason"] == ppi.TOO_FEW
    assert ppi.ppi_win_rate(Y, YHAT, YHAT_U[:0])["reason"] == ppi.NOTHING_TO_ADD
    none = ppi.ppi_win_rate(Y[:0], YHAT[:0], YHAT_U)
    assert (none["reason"], none["n_judge"], none["ci_low"]) == (ppi.NO_OVERLAP, 4, None)
    with pytest.raises(ValueError, match="differ in length"):
        ppi.ppi_win_rate(Y, YHAT[:3], YHAT_U)


def _votes(rows: list[tuple[int, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["pair_id", "system_a", "system_b", "preference"])


def test_rows_average_annotators_and_orient_to_the_row():
    # pair 2 is stored the other way round; pair 1 has three annotators
    human = _votes([(1, "x", "y", "a"), (1, "x", "y", "b"), (1, "x", "y", "a"),
                    (2, "y", "x", "b"), (3, "x", "y", "tie"), (9, "x", "z", "a")])  # fmt: skip
    judge = _votes([(1, "x", "y", "a"), (2, "y", "x", "a"), (3, "x", "y", "a"),
                    (4, "x", "y", "a"), (5, "y", "x", "b")])  # fmt: skip
    scores = ppi.oriented(ppi.pair_scores(human), "x", "y")
    assert scores.to_dict() == pytest.approx({1: 2 / 3, 2: 1.0, 3: 0.5})
    assert ppi.oriented(ppi.pair_scores(human), "z", "x").to_dict() == {9: 0.0}
    row = {"system_a": "x", "system_b": "y"}
    [out] = ppi.ppi_for_rows([row], judge, human, confidence=0.95)
    expected = ppi.ppi_win_rate(
        np.array([2 / 3, 1.0, 0.5]), np.array([1.0, 0.0, 1.0]), np.array([1.0, 1.0])
    )
    assert out["ppi"] == pytest.approx(expected)
    assert (out["ppi"]["n_human"], out["ppi"]["n_judge"]) == (3, 5)
    [none] = ppi.ppi_for_rows([row], judge, human.iloc[:0])
    assert none["ppi"]["reason"] == ppi.NO_HUMANS


@pytest.fixture
def study(session):
    """Humans rate 12 of 30 pairs; "judge:all" judges every pair (mostly agreeing),
    "judge:other" only pairs no human rated."""
    b = build_study(session, systems=("base", "tuned"), n_prompts=30, flip={3, 4})
    for i in range(30):
        pid, base_is_a = pair_of(b, i, "base", "tuned")
        tuned = "b" if base_is_a else "a"
        human = tuned if i % 3 else ("a" if tuned == "b" else "b")
        if i < 12:
            for ann in ("u1", "u2"):
                rate(session, b, ann, pid, human)
        said = human if i % 5 else tuned
        verdict(session, b, "judge:all", pid, said, said)
        if i >= 12:
            verdict(session, b, "judge:other", pid, tuned, tuned)
    return session, b


def test_report_carries_ppi_on_the_judges_rows(study):
    session, b = study
    report = build_report(load_study_frames(session, b.study.id), n_boot=50)
    [row] = report.judges["judge:all"].win_rates
    p = row.ppi
    assert (p.n_human, p.n_judge, p.reason) == (12, 30, None)
    assert p.ci_low <= p.win_rate_a <= p.ci_high and p.n_effective > 0
    [other] = report.judges["judge:other"].win_rates
    assert other.ppi.win_rate_a is None and other.ppi.reason == ppi.NO_OVERLAP
    assert all(r.ppi is None for r in report.human.win_rates)
    cells = ppi_cells(report)
    assert [c[0] for c in cells] == ["judge:all", "judge:other"]
    human = report.human.win_rates[0]
    expect = human.win_rate_a if human.system_a == row.system_a else 1 - human.win_rate_a
    assert cells[0][3] == pytest.approx(expect)  # the humans' figure, oriented like the row
    assert cells[1][-1] == ppi.NO_OVERLAP
    md, html = render(report, "md"), render(report, "html")
    assert PPI_TITLE in md and PPI_TITLE in html and ppi.NO_OVERLAP in md


def test_planted_studies_fast():
    """A few hundred planted studies: coverage within Monte Carlo error of 95% and a
    narrower interval than humans alone when the judge agrees 80% of the time."""
    studies = 300
    floor = 0.95 - 3 * math.sqrt(0.95 * 0.05 / studies)
    weak, agreeing = coverage(0.5, studies, seed=1), coverage(0.8, studies, seed=1)
    for c in (weak, agreeing):
        assert c.ppi >= floor, c
        assert c.judge < 0.5, c  # the judge alone is biased: its interval misses
    assert agreeing.width_ratio < 0.85, agreeing


@pytest.mark.slow
def test_planted_studies_cover_at_nominal_95():
    """2,000 planted studies per agreement level (bench/ppi_coverage.py prints them)."""
    weak, agreeing = coverage(0.5, 2000), coverage(0.8, 2000)
    assert weak.ppi >= 0.94 and agreeing.ppi >= 0.94, (weak, agreeing)
    assert weak.judge < 0.2 and agreeing.judge < 0.5
    assert weak.width_ratio <= 1.0  # never much worse than humans alone
    assert agreeing.width_ratio < 0.85 and agreeing.worth > 1.5
