"""Batch mode through the real OpenAI and Anthropic SDKs against the loopback server: results
with successes, errors and expired requests; the batch price; splitting; the budget; a kill -9
between batch creation and completion, then a resume that polls the same batch and never
submits twice; listing and cancelling batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import JudgeBatch, JudgeVerdict, Judgment
from sidebyside.judge.batch import split
from sidebyside.judge.pricing import Prices
from sidebyside.judge.service import JudgeRunConfig, estimate, run_judges
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer

cli = CliRunner()


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


def _specs(server: LoopbackServer) -> dict[str, str]:
    return {
        "openai": f"openai:gpt-4o-mini@{server.openai_url}",
        "anthropic": f"anthropic:claude-3-5-haiku@{server.anthropic_url}",
    }


def _rows(session: Session, judge: str) -> list[Judgment]:
    session.expire_all()
    return list(session.exec(select(Judgment).where(Judgment.judge == judge)).all())


def _batches(session: Session) -> list[JudgeBatch]:
    session.expire_all()
    return list(session.exec(select(JudgeBatch).order_by(JudgeBatch.id)).all())


@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_a_batch_stores_answers_errors_and_expiries_at_half_price(
    engine, session: Session, server, wire
):
    study = make_study(session, n_prompts=4)  # 8 calls
    spec = _specs(server)[wire]
    fates = ["ok", "ok", "ok", "error", "ok", "expired", "ok", "ok"]
    server.batches.outcome = lambda custom_id, index: fates[index]
    config = JudgeRunConfig(judges=[spec], batch=True, poll_s=0.01)
    run_judges(engine, study.name, config)
    assert server.count == 0 and server.batches.created[wire] == 1  # no live call
    rows = _rows(session, spec)
    assert sorted(r.status for r in rows) == ["error"] * 2 + ["ok"] * 6
    errors = " ".join(r.error for r in rows if r.status == "error")
    assert "expired" in errors and ("400" in errors or "errored" in errors)
    ok = [r for r in rows if r.status == "ok"]
    live = Prices.load().lookup(wire, spec.split(":")[1].split("@")[0], None)
    for r in ok:  # the batch price is half the standard one
        standard = (r.input_tokens * live.input + r.output_tokens * live.output) / 1e6
        assert r.cost_usd == pytest.approx(standard / 2)
    if wire == "openai":  # log-probabilities come back in batch answers too
        assert all(r.p_a is not None and r.preference is not None for r in ok)
    else:
        assert all(r.p_a is None for r in ok)
    (batch,) = _batches(session)
    assert batch.ingested and batch.status == "ended" and batch.n_requests == 8
    assert batch.cost_usd == pytest.approx(sum(r.cost_usd for r in ok))
    # A rerun submits only the two failed calls, in a new batch; then nothing at all.
    server.batches.outcome = lambda custom_id, index: "ok"
    run_judges(engine, study.name, config)
    assert server.batches.created[wire] == 2
    assert _batches(session)[-1].n_requests == 2
    assert {r.status for r in _rows(session, spec)} == {"ok"}
    run_judges(engine, study.name, config)
    assert server.batches.created[wire] == 2 and server.count == 0
    assert session.exec(select(func.count()).select_from(JudgeVerdict)).one() == 4


def test_large_jobs_are_split_and_the_budget_holds(engine, session: Session, server, tmp_path):
    study = make_study(session, n_prompts=5)  # 10 calls
    spec = _specs(server)["openai"]
    config = JudgeRunConfig(judges=[spec], batch=True, poll_s=0.01, batch_max_requests=4)
    run_judges(engine, study.name, config)
    assert [b.n_requests for b in _batches(session)] == [4, 4, 2]
    assert {r.status for r in _rows(session, spec)} == {"ok"}
    # The budget counts every request's worst case at the batch price.
    other = make_study(session, name="other", n_prompts=5, systems=("x", "y"))  # new texts
    prices = tmp_path / "p.json"
    prices.write_text(json.dumps({"openai:gpt-4o-mini": {"input": 1000.0, "output": 1000.0}}))
    budget = JudgeRunConfig(
        judges=[spec], batch=True, poll_s=0.01, max_cost=3.0, prices_file=str(prices)
    )
    summary = run_judges(engine, other.name, budget)
    sent = sum(b.n_requests for b in _batches(session)[3:])
    assert summary.budget_stopped and 0 < sent < 10
    assert summary.judges[0].skipped == 10 - sent and summary.cost <= 3.0


def test_dry_run_estimates_at_the_batch_price(engine, session: Session, server):
    study = make_study(session, n_prompts=3)
    spec = _specs(server)["anthropic"]
    live = estimate(engine, study.name, JudgeRunConfig(judges=[spec]))[0]
    batch = estimate(engine, study.name, JudgeRunConfig(judges=[spec], batch=True))[0]
    assert batch.cost == pytest.approx(live.cost / 2)
    assert batch.worst_cost == pytest.approx(live.worst_cost / 2)
    assert server.batches.created == {"openai": 0, "anthropic": 0}


def test_split_respects_requests_and_bytes():
    lines = [{"custom_id": str(i), "body": "x" * 100} for i in range(10)]
    assert [len(c) for c in split(lines, max_requests=3, max_bytes=10**6)] == [3, 3, 3, 1]
    assert [len(c) for c in split(lines, max_requests=100, max_bytes=300)] == [2] * 5
    with pytest.raises(InputError, match="over the batch limit"):
        split(lines, max_requests=100, max_bytes=50)


def _count_batches(engine) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(JudgeBatch)).one()


@pytest.mark.slow
@pytest.mark.parametrize("wire", ["openai", "anthropic"])
def test_kill_9_after_creation_then_resume_polls_the_same_batch(
    engine, session: Session, db_url, server, wire
):
    study = make_study(session, n_prompts=6)
    spec = _specs(server)[wire]
    server.batches.hold = True  # the batch stays running until released
    main = "from sidebyside.cli.main import main; main()"
    cmd = [sys.executable, "-c", main, "judge", study.name, "-j", spec, "--batch", "--poll", "1"]
    proc = subprocess.Popen(
        cmd,
        env=os.environ | {"SIDEBYSIDE_DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _count_batches(engine) < 1:
            assert proc.poll() is None, "the run ended before its batch was recorded"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.kill()  # SIGKILL between batch creation and completion
        proc.wait()
    assert server.batches.created[wire] == 1
    (recorded,) = _batches(session)
    assert not recorded.ingested and recorded.status == "running"
    server.batches.hold = False
    result = cli.invoke(app, ["judge", study.name, "-j", spec, "--batch", "--poll", "0.01"])
    assert result.exit_code == 0, result.output
    assert server.batches.created[wire] == 1  # resumed, never submitted twice
    (batch,) = _batches(session)
    assert batch.batch_id == recorded.batch_id and batch.ingested
    assert len(_rows(session, spec)) == 12 and {r.status for r in _rows(session, spec)} == {"ok"}


def test_no_wait_then_list_and_cancel(engine, session: Session, server):
    study = make_study(session, n_prompts=2)
    spec = _specs(server)["openai"]
    server.batches.hold = True
    args = ["judge", study.name, "-j", spec, "--batch", "--no-wait"]
    assert cli.invoke(app, args).exit_code == 0
    listed = cli.invoke(app, ["judge-batches", study.name])
    assert listed.exit_code == 0 and "running (in_progress)" in listed.output
    assert spec in listed.output and " no " in listed.output
    cancelled = cli.invoke(app, ["judge-batches", study.name, "--cancel"])
    assert cancelled.exit_code == 0, cancelled.output
    assert "cancel 1 running batch" in cancelled.output
    assert "ended (cancelled)" in cancelled.output and " no " in cancelled.output
    # The cancelled batch ends with nothing done: its calls are errors, submitted again later.
    assert cli.invoke(app, [*args[:-1], "--poll", "0.01"]).exit_code == 0
    assert {r.status for r in _rows(session, spec)} == {"error"}
    server.batches.hold = False
    assert cli.invoke(app, [*args[:-1], "--poll", "0.01"]).exit_code == 0
    assert server.batches.created["openai"] == 2
    assert {r.status for r in _rows(session, spec)} == {"ok"}
    final = cli.invoke(app, ["judge-batches", study.name]).output
    assert "ended (cancelled)" in final and "ended (completed)" in final


def test_the_judges_page_shows_batch_status(session: Session, server):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from sidebyside.annotate.auth import create_user
    from sidebyside.ui.common import USER_KEY

    study = make_study(session, n_prompts=2)
    spec = _specs(server)["anthropic"]
    server.batches.hold = True
    assert cli.invoke(app, ["judge", study.name, "-j", spec, "--batch", "--no-wait"]).exit_code == 0
    admin = create_user(session, username="boss", password="pw-123456-xyz", role="admin")
    session.commit()  # the account service leaves the commit to its caller
    page = Path(__file__).resolve().parent.parent / "pages" / "judges.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.session_state[USER_KEY] = admin.id
    at.run()
    assert not at.exception
    assert "Batches" in [h.value for h in at.subheader]
    table = at.dataframe[0].value
    assert list(table["status"]) == ["running"] and list(table["requests"]) == [4]
    assert list(table["provider status"]) == ["in_progress"] and not table["stored"].any()


def test_batch_and_live_judges_in_one_command(engine, session: Session, server):
    study = make_study(session, n_prompts=3)
    specs = _specs(server)
    judges = [specs["openai"], specs["anthropic"], "baseline:longest"]
    summary = run_judges(engine, study.name, JudgeRunConfig(judges=judges, batch=True, poll_s=0.01))
    assert server.count == 0 and server.batches.created == {"openai": 1, "anthropic": 1}
    verdicts = {j.judge: j.n_verdicts for j in summary.judges}
    assert verdicts == {**dict.fromkeys(judges, 3), "ensemble": 3}
    assert {j.judge: j.sent for j in summary.judges if j.judge in specs.values()} == {
        specs["openai"]: 6,
        specs["anthropic"]: 6,
    }
