"""Anytime-valid decisions (analysis.anytime): the boundary against its published formula and
confseq, coverage and false decisions under continuous monitoring, early decisions for a clear
winner, the report's human.anytime and the Progress page's decided line."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from sidebyside.analysis.anytime import (
    confidence_sequence,
    decide,
    normal_mixture_radius,
    peeking_rates,
    planned_votes,
    tuning_rho,
    votes_to_decide,
)
from sidebyside.analysis.report import render, report_for_study
from sidebyside.annotate.auth import create_user
from sidebyside.foundation.models import Rating
from sidebyside.ui.common import USER_KEY
from tests.analysis_helpers import build_study, pair_of, rate, user

PAGES = Path(__file__).resolve().parent.parent / "pages"


def _by_hand(v: float, alpha: float, v_opt: float) -> float:
    """Howard et al. (2021), Proposition 4 and §3.5, written out again."""
    rho = v_opt / (2 * math.log(1 / alpha) + math.log(1 + 2 * math.log(1 / alpha)))
    return math.sqrt((v + rho) * math.log((v + rho) / (rho * alpha**2)))


@pytest.mark.parametrize(("v", "alpha", "v_opt"), [(1, 0.05, 25), (25, 0.05, 25), (250, 0.1, 9)])
def test_boundary_is_the_published_formula(v, alpha, v_opt):
    got = normal_mixture_radius(v, alpha=alpha, rho=tuning_rho(v_opt, alpha=alpha))
    assert got == pytest.approx(_by_hand(v, alpha, v_opt), rel=1e-12)


def test_boundary_agrees_with_confseq():
    boundaries = pytest.importorskip("confseq.boundaries")
    v = np.array([0.25, 2.5, 25.0, 250.0, 2500.0])
    for alpha, v_opt in ((0.05, 25.0), (0.01, 250.0)):
        ours = normal_mixture_radius(v, alpha=alpha, rho=tuning_rho(v_opt, alpha=alpha))
        theirs = boundaries.normal_mixture_bound(v, alpha, v_opt, alpha, False)
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)


@pytest.mark.parametrize(
    ("n_sims", "n_votes", "tie_rate", "wilson_above"),
    [(1000, 300, 0.2, 0.15), (4000, 1000, 0.0, 0.30), (4000, 1000, 0.3, 0.15)],
)
def test_continuous_monitoring_rarely_decides_a_non_winner(n_sims, n_votes, tie_rate, wilson_above):
    # a true win rate of exactly ½, checked after every vote (bench/anytime_monitoring.py)
    rates = peeking_rates(n_sims=n_sims, n_votes=n_votes, tie_rate=tie_rate, seed=20)
    assert rates["cs"] <= 0.05  # 0.2–1.6%: the guarantee holds at every vote
    assert rates["wilson"] > wilson_above  # 23–47%: peeking at the fixed-sample interval


def test_sequence_covers_an_unbalanced_win_rate_at_every_vote():
    rng = np.random.default_rng(3)
    mu, misses, n_sims = 0.3, 0, 1000  # 20% ties, A wins 20%, B 60%
    for _ in range(n_sims):
        x = rng.choice([0.0, 0.5, 1.0], p=[0.6, 0.2, 0.2], size=300)
        low, high = confidence_sequence(x, alpha=0.05, planned=300)
        # the running intersection misses mu at the end iff some interval missed it
        misses += bool(low[-1] > mu or high[-1] < mu)
    assert misses / n_sims <= 0.05


def test_a_clear_winner_is_decided_early():
    rng = np.random.default_rng(4)
    decisions = [
        decide(rng.choice([0.0, 1.0], p=[0.25, 0.75], size=300), alpha=0.05, planned=300)
        for _ in range(300)
    ]
    assert all(d["decided"] and d["side"] == "a" for d in decisions)
    assert np.median([d["at_vote"] for d in decisions]) < 80  # of 300 planned


def test_decision_for_b_and_edges():
    d = decide([0.0, 0.5] * 40, alpha=0.05, planned=80)  # B wins, with ties
    assert d["decided"] and d["side"] == "b" and d["cs_high"] < 0.5 and d["more_votes"] is None
    even = decide([1.0, 0.0] * 10, alpha=0.05, planned=80)
    assert not even["decided"] and even["more_votes"] is None and even["win_rate_a"] == 0.5
    empty = decide([], alpha=0.05, planned=10)
    assert empty["n_votes"] == 0 and not empty["decided"] and empty["cs_low"] is None
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        confidence_sequence([0.2, 1.5], alpha=0.05, planned=10)
    with pytest.raises(ValueError, match="alpha"):
        decide([1.0], alpha=1.5, planned=10)


def test_projection_is_the_first_vote_count_that_decides():
    alpha, planned = 0.05, 90

    def half_width(t: int) -> float:
        return _by_hand(t / 4, alpha, planned / 4) / t

    for p, n in ((0.6, 30), (0.45, 200), (0.52, 12)):
        m = votes_to_decide(p, n, alpha=alpha, planned=planned)
        gap = abs(p - 0.5)
        assert half_width(n + m) < gap <= half_width(n + m - 1), (p, n, m)
    # 60% after 30 votes, then observations of exactly 0.6 keep the rate: decided on the
    # projected vote
    x = np.concatenate([np.tile([1.0, 1.0, 1.0, 0.0, 0.0], 6), np.full(1000, 0.6)])
    seen = decide(x[:30], alpha=alpha, planned=planned)
    later = decide(x, alpha=alpha, planned=planned)
    assert not seen["decided"] and later["decided"] and later["side"] == "a"
    assert later["at_vote"] == 30 + seen["more_votes"]


def test_planned_votes_share_the_design():
    assert planned_votes(12, 3, 3) == 12 and planned_votes(0, 3, 2) == 1


def _rate_at(session: Session, b, annotator: str, pair_id: int, preference: str, when):
    session.add(
        Rating(
            study_id=b.study.id,
            pair_id=pair_id,
            user_id=user(session, b, annotator),
            preference=preference,
            scores={},
            created_at=when,
        )
    )
    session.commit()


def test_report_orders_votes_by_time_and_orients_like_win_rates(session):
    # 16 prompts, every 4th stored as (tuned, base); one annotator, k = 3: planned 48 votes.
    b = build_study(session, n_prompts=16, flip={0, 4, 8, 12})
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    # Stored first but cast last: four wins for base; cast first: twelve wins for tuned.
    for i in range(12, 16):
        pid, base_is_a = pair_of(b, i, "base", "tuned")
        _rate_at(session, b, "ann", pid, "a" if base_is_a else "b", t0 + timedelta(hours=i))
    for i in range(12):
        pid, tuned_is_a = pair_of(b, i, "tuned", "base")
        _rate_at(session, b, "ann", pid, "a" if tuned_is_a else "b", t0 + timedelta(minutes=i))
    report = report_for_study(session, b.study.id, n_boot=0)
    (row,) = report.human.anytime
    (wr,) = report.human.win_rates
    assert (row.system_a, row.system_b) == (wr.system_a, wr.system_b) == ("base", "tuned")
    assert row.n_votes == 16 and row.win_rate_a == pytest.approx(0.25)
    x = [0.0] * 12 + [1.0] * 4  # base's view, in the order cast
    expected = decide(x, alpha=0.05, planned=48)
    assert expected["decided"] and row.decided and row.winner == "tuned"
    assert row.at_vote == expected["at_vote"] == 11  # needs the votes in time order
    assert row.planned_votes == 48 and row.alpha == pytest.approx(0.05)
    assert row.cs_high < 0.5 and row.more_votes is None
    for fmt in ("md", "html"):
        assert "decided: tuned wins (at vote 11)" in render(report, fmt)


def test_report_without_ratings_has_no_anytime(session):
    b = build_study(session, n_prompts=2)
    assert report_for_study(session, b.study.id, n_boot=0).human.anytime is None


def test_progress_page_shows_the_decided_line(engine):
    with Session(engine) as s:
        b = build_study(s, systems=("base", "tuned", "other"), n_prompts=12)
        for i in range(12):
            pid, tuned_is_a = pair_of(b, i, "tuned", "base")
            rate(s, b, "ann", pid, "a" if tuned_is_a else "b")
        for i, winner in ((0, "base"), (1, "other")):
            pid, base_is_a = pair_of(b, i, "base", "other")
            rate(s, b, "ann", pid, "a" if (winner == "base") == base_is_a else "b")
        admin = create_user(s, username="boss", password="secret0-xyz-pw", role="admin")
        s.commit()
        admin_id = admin.id
    at = AppTest.from_file(str(PAGES / "progress.py"), default_timeout=60)
    at.session_state[USER_KEY] = admin_id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # 12 votes on 12 pairs × k 3 over 3 system pairs (planned 36): decided at vote 11
    assert [m.value for m in at.success] == ["base vs tuned — decided: tuned wins (at vote 11)"]
    (pending,) = [m.value for m in at.info if " vs " in m.value]
    assert pending.startswith("base vs other — not yet: ")
    assert "split evenly" in pending  # one vote each way
