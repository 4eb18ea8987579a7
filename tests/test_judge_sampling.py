"""Sampled judges (``--samples K --temperature T``): K answers per order stored, the vote
fractions as P(A) / P(B) / P(tie), and from them the continuous preference, ECE, Brier and
the reliability diagram, for a judge with no log-probabilities (Anthropic's wire format)."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.analysis.confidence import judge_calibration
from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report
from sidebyside.analysis.verdicts import load_verdicts
from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import JudgeVerdict, Judgment
from sidebyside.judge.service import JudgeRunConfig, estimate, run_judges
from sidebyside.judge.tasks import PlanOptions, build_tasks
from tests.analysis_helpers import rate
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer, shown_responses, verdict

K = 4
#: Of the K answers to each order on prompt p, how many prefer the longer (tuned) response.
LONGER_VOTES = {0: 4, 1: 3, 2: 2, 3: 1}


class VotingJudge:
    """Answers the m-th request about a prompt for the longer response when m % K is below
    LONGER_VOTES[p], else for the shorter: K answers per order give fraction LONGER_VOTES/K."""

    def __init__(self) -> None:
        self.seen: Counter = Counter()
        self.lock = threading.Lock()

    def __call__(self, messages, body=None) -> str:
        text = "\n".join(m["content"] for m in messages if isinstance(m.get("content"), str))
        p = int(re.search(r"Question (\d+)", text).group(1))
        shown = shown_responses(messages)
        a, b = len(shown["response_a"]), len(shown["response_b"])
        with self.lock:
            m = self.seen[(p, a > b)]
            self.seen[(p, a > b)] += 1
        longer_first = a > b
        prefer_longer = m % K < LONGER_VOTES[p]
        return verdict("A" if longer_first == prefer_longer else "B")


def test_a_sampled_anthropic_judge_gets_ece_and_a_reliability_diagram(engine, session: Session):
    study = make_study(session, n_prompts=4)
    with LoopbackServer(judge=VotingJudge()) as server:
        spec = f"anthropic:judge@{server.anthropic_url}"
        config = JudgeRunConfig(judges=[spec], samples=K, temperature=1.0)
        name = f"{spec}#k{K}-t1"
        (before,) = estimate(engine, study.name, config)
        assert (before.judge, before.calls, before.to_send) == (name, 4 * 2 * K, 4 * 2 * K)
        run_judges(engine, study.name, config)
        assert server.count == 4 * 2 * K
        assert {r["body"]["temperature"] for r in server.requests} == {1.0}
        run_judges(engine, study.name, config)  # cached: nothing is asked again
        assert server.count == 4 * 2 * K
        (after,) = estimate(engine, study.name, config)
        assert (after.calls, after.cached, after.to_send) == (4 * 2 * K, 4 * 2 * K, 0)
    rows = session.exec(select(Judgment).where(Judgment.judge == name)).all()
    assert Counter((r.order, r.sample) for r in rows) == {
        (o, s): 4 for o in ("ab", "ba") for s in range(K)
    }
    assert len({r.cache_key for r in rows}) == len(rows)  # the sample index is in every key
    assert {(r.p_a, r.preference) for r in rows} == {(None, None)}  # no log-probabilities
    by_prompt = {}
    for v in session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == name)).all():
        by_prompt[v.pair_id] = v
    expected = [LONGER_VOTES[p] / K for p in range(4)]  # tuned is output_b: P(b)
    verdicts = [by_prompt[k] for k in sorted(by_prompt)]
    assert [v.vote_b for v in verdicts] == expected
    assert [v.vote_a for v in verdicts] == [1 - e for e in expected]
    assert [v.vote_preference for v in verdicts] == [1 + e for e in expected]
    assert [v.preference for v in verdicts] == [1 + e for e in expected]  # the confidence
    assert [v.winner for v in verdicts] == ["b", "b", "tie", "a"]
    # Humans prefer b everywhere: the votes' calibration, by hand and in the report.
    built = type("B", (), {"study": study, "users": {}})()
    for pair_id in sorted(by_prompt):
        rate(session, built, "ann", pair_id, "b")
    report = build_report(load_study_frames(session, study.id), n_boot=0)
    conf = report.judges[name].confidence
    assert conf is not None and conf.n == 4
    assert conf.brier == pytest.approx(sum((e - 1) ** 2 for e in expected) / 4)  # 0.21875
    import pandas as pd

    by_hand = judge_calibration(pd.DataFrame({"p_b": expected, "human": ["b"] * 4}))
    assert conf.ece == pytest.approx(by_hand.ece)
    assert [b.count for b in conf.bins] == [b.count for b in by_hand.bins]
    assert sum(b.count for b in conf.bins) == 4  # the reliability diagram's data
    frame = load_verdicts(session, study.id)
    assert set(frame[frame["judge"] == name]["preference_score"]) == {1 + e for e in expected}


def test_one_sample_is_the_judge_asked_once(session: Session):
    study = make_study(session, n_prompts=2)
    from sidebyside.judge.specs import parse_spec

    once = build_tasks(
        session, study=study, specs=[parse_spec("anthropic:x")], options=PlanOptions()
    )
    three = build_tasks(
        session,
        study=study,
        specs=[parse_spec("anthropic:x")],
        options=PlanOptions(samples=3, temperature=0.7),
    )
    assert {t.judge for t in once} == {"anthropic:x"} and len(once) == 4
    assert {t.judge for t in three} == {"anthropic:x#k3-t0.7"} and len(three) == 12
    assert {t.sample for t in three} == {0, 1, 2}
    assert not {t.cache_key for t in once} & {t.cache_key for t in three}
    # A baseline answers the same every time: asked once whatever K, under its own name.
    base = build_tasks(
        session,
        study=study,
        specs=[parse_spec("baseline:longest")],
        options=PlanOptions(samples=3, temperature=0.7),
    )
    assert len(base) == 4 and {t.judge for t in base} == {"baseline:longest"}


def test_k_below_one_is_refused_clearly(engine, session: Session):
    from pydantic import ValidationError

    study = make_study(session, n_prompts=1)
    with pytest.raises(ValidationError, match="--samples must be a whole number of at least 1"):
        JudgeRunConfig(judges=["baseline:longest"], samples=0)
    with pytest.raises(InputError, match="--samples must be"):
        build_tasks(session, study=study, specs=[], options=PlanOptions(samples=0))
    with pytest.raises(InputError, match="applies to pairwise"):
        build_tasks(session, study=study, specs=[], options=PlanOptions(mode="single", samples=2))
    result = CliRunner().invoke(
        app, ["judge", study.name, "-j", "baseline:longest", "--samples", "0"]
    )
    assert result.exit_code == 2, result.output
    assert "--samples must be a whole number of at least 1" in result.output
    assert session.exec(select(Judgment)).all() == []  # nothing half-written


def test_a_log_probability_judge_keeps_them_and_the_report_shows_both(engine, session: Session):
    study = make_study(session, n_prompts=3)
    with LoopbackServer() as server:  # the longest response wins; P(shown winner) = 0.8
        spec = f"openai:judge@{server.openai_url}"
        run_judges(engine, study.name, JudgeRunConfig(judges=[spec], samples=3, temperature=0.5))
    name = f"{spec}#k3-t0.5"
    rows = session.exec(select(Judgment).where(Judgment.judge == name)).all()
    assert len(rows) == 3 * 2 * 3 and all(r.p_a is not None for r in rows)
    verdicts = session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == name)).all()
    # preference: the log-probabilities' (1 + 0.8 + 0.05 / 2); the votes: all for b.
    assert {round(v.preference, 6) for v in verdicts} == {1.825}
    assert {(v.vote_b, v.vote_preference) for v in verdicts} == {(1.0, 2.0)}
    built = type("B", (), {"study": study, "users": {}})()
    for v in verdicts:
        rate(session, built, "ann", v.pair_id, "b")
    section = build_report(load_study_frames(session, study.id), n_boot=0).judges[name]
    assert section.confidence.mean_confidence == pytest.approx(0.825)
    assert section.vote_confidence.mean_confidence == pytest.approx(1.0)
    assert section.vote_confidence.brier == pytest.approx(0.0)
    from sidebyside.ui.results_confidence import confidence_rows

    assert list(
        confidence_rows(build_report(load_study_frames(session, study.id), n_boot=0))["judge"]
    ) == [name, f"{name} (votes)"]
