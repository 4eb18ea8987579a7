"""The Python API: single mode, reference-guided prompts, cost estimates, reconciliation
rules, the ensemble, and a report on a study judged by machines only."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.foundation.models import JudgeVerdict, Judgment, Pair
from sidebyside.judge.reconcile import ensemble, reconcile
from sidebyside.judge.service import JudgeRunConfig, estimate, judged, run_judges
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


def _spec(server: LoopbackServer) -> str:
    return f"openai:judge@{server.openai_url}"


def test_single_mode_scores_each_response_once(engine, session: Session, server):
    study = make_study(session, n_prompts=3, systems=("base", "tuned", "big"))
    spec = _spec(server)
    summary = run_judges(engine, study.name, JudgeRunConfig(judges=[spec], mode="single"))
    # 3 prompts x 3 pairs x 2 sides = 18 slots, but only 9 distinct outputs: 9 requests.
    assert server.count == 9
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert len(rows) == 18 and {r.status for r in rows} == {"ok"}
    assert all(r.scores["criteria"] and 1 <= r.scores["overall"] <= 10 for r in rows)
    assert all(r.output_id for r in rows) and {r.order for r in rows} == {"a", "b"}
    assert sum(r.cost_usd == 0.0 for r in rows) == 9  # copies cost nothing
    verdicts = session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == spec)).all()
    assert len(verdicts) == 9 and all(v.mode == "single" for v in verdicts)
    # The server scores longer answers higher: the later system in each pair wins or ties.
    assert {v.winner for v in verdicts} <= {"b", "tie"}
    assert summary.judges[0].n_verdicts == 9


def test_reference_guided_prompts(engine, session: Session, server):
    study = make_study(session, n_prompts=2, references=True)
    spec = _spec(server)
    summary = run_judges(engine, study.name, JudgeRunConfig(judges=[spec], reference=True))
    assert summary.reference_used
    assert all("<reference_answer>" in r["body"]["messages"][1]["content"] for r in server.requests)
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert {r.template_version for r in rows} == {"pairwise_v1+ref"}
    # Without the reference the prompt differs, so it is asked again (and overwrites).
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    assert server.count == 8
    session.expire_all()
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert {r.template_version for r in rows} == {"pairwise_v1"} and len(rows) == 4


def test_estimate_counts_what_would_be_sent(engine, session: Session, server, tmp_path):
    study = make_study(session, n_prompts=4)
    prices = tmp_path / "p.json"
    prices.write_text(json.dumps({"openai:judge": {"input": 1.0, "output": 2.0}}))
    config = JudgeRunConfig(judges=[_spec(server), "baseline:longest"], prices_file=str(prices))
    first = {e.judge: e for e in estimate(engine, study.name, config)}
    judge = first[_spec(server)]
    assert (judge.calls, judge.cached, judge.to_send) == (8, 0, 8)
    assert judge.input_tokens > 8 * 100
    assert 0 < judge.cost < judge.worst_cost
    assert judge.worst_cost == pytest.approx((judge.input_tokens + 8 * 512 * 2) / 1e6)
    assert first["baseline:longest"].cost == 0.0
    assert server.count == 0
    run_judges(engine, study.name, config)
    again = {e.judge: e for e in estimate(engine, study.name, config)}
    assert again[_spec(server)].to_send == 0 and again[_spec(server)].cost == 0.0


def test_budget_smaller_than_one_request_sends_nothing(engine, session, server, tmp_path):
    study = make_study(session, n_prompts=2)
    prices = tmp_path / "p.json"
    prices.write_text(json.dumps({"openai:judge": {"input": 10.0, "output": 10.0}}))
    summary = run_judges(
        engine,
        study.name,
        JudgeRunConfig(
            judges=[_spec(server), "baseline:longest"], max_cost=0.0001, prices_file=str(prices)
        ),
    )
    assert server.count == 0 and summary.budget_stopped
    by_judge = {j.judge: j for j in summary.judges}
    assert by_judge[_spec(server)].skipped == 4
    assert by_judge["baseline:longest"].n_verdicts == 2  # free judges still run


def _pair_ids(session: Session, study_id: int) -> list[int]:
    return list(session.exec(select(Pair.id).where(Pair.study_id == study_id).order_by(Pair.id)))


def _judgment(study_id, pair_id, judge, order, winner, status="ok"):
    return Judgment(
        study_id=study_id,
        pair_id=pair_id,
        judge=judge,
        order=order,
        winner=winner,
        shown_winner=None,
        status=status,
        mode="pairwise",
    )


def test_reconcile_rules_and_stale_verdicts(session: Session):
    study = make_study(session, n_prompts=3)
    p1, p2, p3 = _pair_ids(session, study.id)
    session.add_all(
        [
            _judgment(study.id, p1, "j", "ab", "a"),
            _judgment(study.id, p1, "j", "ba", "a"),
            _judgment(study.id, p2, "j", "ab", "a"),
            _judgment(study.id, p2, "j", "ba", "b"),
            _judgment(study.id, p3, "j", "ab", "b"),
            _judgment(study.id, p3, "j", "ba", None, status="unparsed"),
        ]
    )
    session.commit()
    stats = reconcile(session, study_id=study.id, judge="j", mode="pairwise")
    session.commit()
    assert (stats.verdicts, stats.inconsistent, stats.incomplete) == (2, 1, 1)
    got = {v.pair_id: v for v in session.exec(select(JudgeVerdict))}
    assert (got[p1].winner, got[p1].inconsistent) == ("a", False)
    assert (got[p2].winner, got[p2].inconsistent, got[p2].winner_ab, got[p2].winner_ba) == (
        "tie",
        True,
        "a",
        "b",
    )
    assert p3 not in got
    # Reconciling again changes nothing; a verdict whose judgment failed later is removed.
    assert reconcile(session, study_id=study.id, judge="j", mode="pairwise").changed == 0
    row = session.exec(select(Judgment).where(Judgment.pair_id == p1, Judgment.order == "ba")).one()
    row.status, row.winner = "error", None
    session.add(row)
    session.commit()
    assert reconcile(session, study_id=study.id, judge="j", mode="pairwise").removed == 1


def test_ensemble_majority(session: Session):
    study = make_study(session, n_prompts=3)
    pairs = _pair_ids(session, study.id)
    votes = {"x": ["a", "a", "b"], "y": ["a", "b", "tie"], "z": ["b", "tie", "tie"]}
    for judge, winners in votes.items():
        for pair_id, winner in zip(pairs, winners, strict=True):
            session.add(
                JudgeVerdict(study_id=study.id, pair_id=pair_id, judge=judge, winner=winner)
            )
    session.commit()
    ensemble(session, study_id=study.id, judges=["x", "y", "z"], mode="pairwise")
    session.commit()
    got = {
        v.pair_id: v
        for v in session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == "ensemble"))
    }
    assert [got[p].winner for p in pairs] == ["a", "tie", "tie"]  # a,a,b / a,b,tie / b,tie,tie
    assert got[pairs[0]].reasoning == "votes: x=a, y=a, z=b"
    with pytest.raises(ValueError, match="at least two"):
        ensemble(session, study_id=study.id, judges=["x"], mode="pairwise")


def test_report_works_on_a_study_with_judges_and_no_humans(engine, session, server):
    from sidebyside.cli.main import app

    study = make_study(session, n_prompts=4)
    run_judges(engine, study.name, JudgeRunConfig(judges=[_spec(server), "baseline:longest"]))
    with Session(engine) as s:
        assert {j for j, _, _ in judged(s, study.id)} == {_spec(server), "baseline:longest"}
    result = CliRunner().invoke(app, ["report", study.name, "--format", "json", "--n-boot", "0"])
    assert result.exit_code == 0, result.output
    assert "baseline:longest" in result.stdout
