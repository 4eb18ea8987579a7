"""Calibration of confident judges: ECE with equal-width bins and their counts, the Brier
score, agreement by confidence, and the whole path from log-probabilities to the figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss
from sqlmodel import Session
from typer.testing import CliRunner

from sidebyside.analysis.confidence import calibration_frame, judge_calibration, judges_calibration
from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report
from sidebyside.analysis.verdicts import load_verdicts
from sidebyside.cli.main import app
from sidebyside.judge.service import JudgeRunConfig, run_judges
from tests.analysis_helpers import rate
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer

cli = CliRunner()


def _frame(p, human) -> pd.DataFrame:
    return pd.DataFrame({"p_b": p, "human": human})


def test_hand_computed_figures():
    # Confidences 0.95, 0.85, 0.75, 0.65 in bins 5, 4, 3, 2 of five over [0.5, 1].
    df = _frame([0.95, 0.15, 0.75, 0.35, 0.9], ["b", "a", "a", "a", "tie"])
    c = judge_calibration(df, n_bins=5)
    assert (c.n, c.n_human_ties) == (4, 1)
    assert [b.count for b in c.bins] == [0, 1, 1, 1, 1]
    assert [b.agreement for b in c.bins] == [None, 1.0, 0.0, 1.0, 1.0]
    assert c.ece == pytest.approx((0.35 + 0.75 + 0.15 + 0.05) / 4)
    assert c.brier == pytest.approx((0.05**2 + 0.15**2 + 0.75**2 + 0.35**2) / 4)
    assert c.agreement == pytest.approx(0.75)
    levels = {lv.threshold: (lv.count, lv.agreement) for lv in c.by_confidence}
    assert levels[0.5] == (4, 0.75) and levels[0.8] == (2, 1.0) and levels[0.9] == (1, 1.0)
    # A 0.5 call is a coin flip: half right, whatever the humans said.
    assert judge_calibration(_frame([0.5], ["a"])).agreement == 0.5


def test_brier_matches_sklearn_and_ece_finds_overconfidence():
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, 20_000)
    y = rng.uniform(0, 1, p.size) < p  # outcomes drawn with the judge's own probability
    df = _frame(p, np.where(y, "b", "a"))
    c = judge_calibration(df, n_bins=10)
    assert c.brier == pytest.approx(brier_score_loss(y, p))
    assert c.ece < 0.02  # a calibrated judge
    assert sum(b.count for b in c.bins) == c.n == 20_000
    # A judge 95% sure of calls that are right 70% of the time: ECE = 0.25.
    right = rng.uniform(0, 1, 20_000) < 0.7
    over = judge_calibration(_frame(np.full(20_000, 0.95), np.where(right, "b", "a")))
    assert over.ece == pytest.approx(0.25, abs=0.01)
    assert over.by_confidence[-1].agreement == pytest.approx(0.7, abs=0.01)


def test_bad_input_is_refused_with_a_clear_error():
    with pytest.raises(ValueError, match="missing"):
        judge_calibration(pd.DataFrame({"p": [0.5]}))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        judge_calibration(_frame([1.5], ["a"]))
    with pytest.raises(ValueError, match="'a', 'b' or 'tie'"):
        judge_calibration(_frame([0.5], ["left"]))
    with pytest.raises(ValueError, match="n_bins"):
        judge_calibration(_frame([0.5], ["a"]), n_bins=0)
    empty = judge_calibration(_frame([0.7], ["tie"]))
    assert empty.n == 0 and empty.ece is None and empty.n_human_ties == 1


def test_from_log_probabilities_to_calibration(engine, session: Session):
    study = make_study(session, n_prompts=4)
    with LoopbackServer() as server:
        server.confidence = 0.9
        spec = f"openai:judge@{server.openai_url}"
        run_judges(engine, study.name, JudgeRunConfig(judges=[spec, "baseline:longest"]))
    verdicts = load_verdicts(session, study.id)
    pairs = sorted(verdicts["pair_id"].unique())
    # Humans agree with the (longest-preferring) judge on three pairs out of four.
    built = type("B", (), {"study": study, "users": {}})()
    for i, pair_id in enumerate(pairs):
        rate(session, built, "ann", int(pair_id), "b" if i < 3 else "a")
    verdicts = load_verdicts(session, study.id)
    figures = judges_calibration(verdicts)
    assert list(figures) == [spec]  # the baseline has no probabilities: no figures
    c = figures[spec]
    # Each order: P(shown winner) 0.9, the rest 0.075 / 0.025 -> P(b) = 0.9125 both orders.
    assert c.n == 4 and c.mean_confidence == pytest.approx(0.9125)
    assert c.agreement == pytest.approx(0.75)
    assert c.ece == pytest.approx(0.9125 - 0.75)
    judge_rows = verdicts[verdicts["judge"] == spec]
    frame = calibration_frame(judge_rows, verdicts[verdicts["source"] == "human"])
    assert list(frame.columns) == ["pair_id", "p_b", "human"] and len(frame) == 4
    # The report carries the same figures; a judge without probabilities has none.
    report = build_report(load_study_frames(session, study.id), n_boot=0)
    section = report.judges[spec].confidence
    assert section.n == 4 and section.ece == pytest.approx(c.ece)
    assert [b.count for b in section.bins] == [b.count for b in c.bins]
    assert report.judges["baseline:longest"].confidence is None
    ranked = {r.judge: r for r in report.judge_comparison.judges}  # judges compared, too
    assert ranked[spec].ece == pytest.approx(c.ece) and ranked[spec].n_confidence == 4
    assert ranked["baseline:longest"].ece is None
    assert report.model_dump(mode="json")["judges"][spec]["confidence"]["brier"] == c.brier


def test_the_results_page_shows_the_reliability_diagram(engine, session: Session):
    from pathlib import Path

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from sidebyside.annotate.auth import create_user
    from sidebyside.ui.common import USER_KEY

    study = make_study(session, n_prompts=3)
    with LoopbackServer() as server:
        spec = f"openai:judge@{server.openai_url}"
        run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    built = type("B", (), {"study": study, "users": {}})()
    for pair_id in sorted(load_verdicts(session, study.id)["pair_id"].unique()):
        rate(session, built, "ann", int(pair_id), "b")
    admin = create_user(session, username="boss", password="pw-123456-xyz", role="admin")
    session.commit()  # the account service leaves the commit to its caller
    page = Path(__file__).resolve().parent.parent / "pages" / "results.py"
    st.cache_data.clear()  # the page caches per study id: the other database's run had it
    at = AppTest.from_file(str(page), default_timeout=120)
    at.session_state[USER_KEY] = admin.id
    at.run()
    assert not at.exception
    assert "Judge confidence: calibration against the humans" in [h.value for h in at.subheader]
    tables = [d.value for d in at.dataframe if "ECE" in d.value.columns]
    assert len(tables) == 1 and list(tables[0]["judge"]) == [spec]
    assert tables[0]["pairs"].iloc[0] == 3 and tables[0]["agreement"].iloc[0] == 1.0


def test_self_preference_against_the_humans(engine, session: Session):
    """A judge of family "tuned" that always picks the tuned output, humans who pick it half
    the time: self-preference +0.5 on the own-vs-other pairs; pairs of two other-family
    systems do not count."""
    from sidebyside.analysis.self_preference import self_preference
    from tests.analysis_helpers import build_study, pair_of, verdict

    b = build_study(session, name="sp", systems=("base", "tuned", "big"), n_prompts=4)
    for i in range(4):
        for x, y in (("base", "tuned"), ("big", "tuned"), ("base", "big")):
            pid, x_is_a = pair_of(b, i, x, y)
            tuned_side = "b" if x_is_a else "a"
            other = "a" if tuned_side == "b" else "b"
            judge_pick = tuned_side if "tuned" in (x, y) else "a"
            verdict(session, b, "openai:gpt", pid, judge_pick, judge_pick)
            if "tuned" in (x, y):
                rate(session, b, "u1", pid, tuned_side)
                rate(session, b, "u2", pid, other)
    families = ["--system", "tuned=gpt", "--system", "base=llama", "--system", "big=llama"]
    result = cli.invoke(app, ["families", "sp", *families, "-j", "openai:gpt=gpt"])
    assert result.exit_code == 0, result.output
    assert "system  tuned  gpt" in result.output and "judge   openai:gpt  gpt" in result.output
    report = build_report(load_study_frames(session, b.study.id), n_boot=0)
    sp = report.judges["openai:gpt"].self_preference
    assert (sp.family, sp.n_pairs_judged, sp.n_pairs, sp.n_ratings) == ("gpt", 8, 8, 16)
    assert sp.judge_own_win_rate == 1.0 and sp.human_own_win_rate == 0.5
    assert sp.self_preference == pytest.approx(0.5)
    # Without a declared judge family there is no figure; an unknown system is refused.
    frames = load_study_frames(session, b.study.id)
    assert self_preference(frames.judge("openai:gpt"), frames.human, {}, None) is None
    bad = cli.invoke(app, ["families", "sp", "--system", "nobody=gpt"])
    assert bad.exit_code == 2 and "no system 'nobody'" in bad.output + str(bad.stderr)
    malformed = cli.invoke(app, ["families", "sp", "--system", "tuned"])
    assert malformed.exit_code == 2
