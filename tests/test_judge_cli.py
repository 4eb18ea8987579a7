"""`sidebyside judge` and `sidebyside import-judgments`, including a real kill -9 and resume."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlmodel import Session, func, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.models import JudgeVerdict, Judgment
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def study(session: Session):
    return make_study(session, n_prompts=5)


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


def _count(engine, model=Judgment, **where) -> int:
    with Session(engine) as s:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return s.exec(query).one()


def test_judge_with_baselines_prints_a_summary(engine, study):
    result = invoke("judge", study.name, "-j", "baseline:longest", "--judge", "baseline:random")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "baseline:longest" in out and "0/5/0" in out and "total cost this run $0.0000" in out
    assert _count(engine, JudgeVerdict) == 10
    again = invoke("judge", study.name, "-j", "baseline:longest", "--reference")
    assert again.exit_code == 0 and "  10  " in again.stdout  # all 10 calls cached
    assert "no prompt of this study has a reference answer" in again.stdout


def test_judge_against_an_openai_compatible_server(engine, study, server):
    result = invoke(
        "judge",
        str(study.id),
        "--judge",
        "openai:judge",
        "--base-url",
        server.openai_url,
        "--concurrency",
        "4",
    )
    assert result.exit_code == 0, result.output
    assert server.count == 10 and f"openai:judge@{server.openai_url}" in result.stdout
    assert _count(engine, JudgeVerdict, winner="b") == 5


def test_dry_run_estimates_and_sends_nothing(engine, study, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    result = invoke(
        "judge", study.name, "-j", "openai:gpt-4o-mini", "-j", "openai:mystery", "--dry-run"
    )
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line}
    assert lines["openai:gpt-4o-mini"][1:4] == ["10", "0", "10"]
    assert lines["openai:gpt-4o-mini"][5].startswith("$")
    assert lines["openai:mystery"][5:7] == ["unknown", "unknown"]
    assert "estimated total unknown" in result.stdout
    assert _count(engine) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-j", "openai:gpt-4o-mini"], "set OPENAI_API_KEY"),
        (["-j", "nope:x"], "unknown provider 'nope'"),
        (["-j", "baseline:longest", "--mode", "single"], "judge pairs only"),
        (["-j", "baseline:longest", "--mode", "triple"], "--mode must be pairwise or single"),
        (["-j", "hf:/no/such/model"], "no such model directory"),
    ],
)
def test_errors_are_one_line_and_nothing_is_written(engine, study, monkeypatch, args, message):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = invoke("judge", study.name, *args)
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert _count(engine) == 0


def test_unknown_study(engine):
    result = invoke("judge", "nosuch", "-j", "baseline:longest")
    assert result.exit_code == 2 and "no study 'nosuch'" in result.stderr


def test_import_judgments_command(engine, study, tmp_path):
    good = tmp_path / "v.csv"
    good.write_text("prompt_id,system_a,system_b,judge,winner\np0,base,tuned,gpt4,tuned\n")
    result = invoke("import-judgments", study.name, str(good))
    assert result.exit_code == 0, result.output
    assert "imported 1 verdict(s)" in result.stdout and "gpt4 (1)" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt_id,system_a,system_b,judge,winner\np0,base,tuned,gpt5,who\n")
    result = invoke("import-judgments", study.name, str(bad))
    assert result.exit_code == 2 and f"{bad}:2: winner 'who'" in result.stderr
    missing = invoke("import-judgments", study.name, str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    assert _count(engine, JudgeVerdict) == 1


@pytest.mark.slow
def test_kill_9_midway_then_resume_sends_only_the_missing(engine, session, db_url, server):
    study = make_study(session, name="big", n_prompts=20)
    server.latency = 0.05
    spec = f"openai:judge@{server.openai_url}"
    cmd = [
        sys.executable,
        "-c",
        "from sidebyside.cli.main import main; main()",
        "judge",
        study.name,
        "-j",
        spec,
        "--concurrency",
        "2",
    ]
    proc = subprocess.Popen(
        cmd,
        env=os.environ | {"SIDEBYSIDE_DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _count(engine, status="ok") < 8:
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no final commit
        proc.wait()
    stored = _count(engine, status="ok")
    assert 8 <= stored < 40
    sent_before = server.count
    result = invoke("judge", study.name, "-j", spec, "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert server.count - sent_before == 40 - stored
    assert _count(engine, status="ok") == 40 and _count(engine, JudgeVerdict) == 20
