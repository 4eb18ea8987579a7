"""A researcher's own judge prompt: checked before any call, stored as its own judge, cached
by content, and compared with the default prompt's verdicts in the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.analysis.report import report_for_study
from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import JudgeVerdict, Judgment
from sidebyside.judge.service import JudgeRunConfig, run_judges
from sidebyside.judge.templates import resolve_template
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer

STRICT = """# my strict prompt
[system]
You are a strict grader. Criteria:
$criteria
$tie_rule
Reply with JSON {"reasoning": "...", "winner": "A" | "B" | "tie"}. Costs are in $$.
[user]
TASK: $prompt
$reference_section
FIRST: $response_a
SECOND: $response_b
[reference]
REFERENCE: $reference
"""


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


@pytest.fixture
def strict(tmp_path: Path) -> Path:
    path = tmp_path / "strict.txt"
    path.write_text(STRICT, encoding="utf-8")
    return path


def names(session: Session, model) -> set[str]:
    session.expire_all()
    return set(session.exec(select(model.judge).distinct()).all())


def test_own_template_is_a_judge_of_its_own(engine, session, server, strict):
    study = make_study(session, n_prompts=4)
    spec = f"openai:judge-model@{server.openai_url}"
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec], backoff_base=0.01))
    assert server.count == 8
    config = JudgeRunConfig(judges=[spec], template=str(strict), backoff_base=0.01)
    summary = run_judges(engine, study.name, config)
    assert server.count == 16  # a new prompt: new calls
    assert [j.judge for j in summary.judges] == [f"{spec}#strict"]
    assert names(session, JudgeVerdict) == {spec, f"{spec}#strict"}  # both kept
    sent = server.requests[-1]["body"]["messages"]
    assert sent[0]["content"].startswith("You are a strict grader.")
    assert "Costs are in $." in sent[0]["content"]
    assert sent[1]["content"].startswith("TASK: Question")
    digest = resolve_template(str(strict), "pairwise").name
    rows = session.exec(select(Judgment).where(Judgment.judge == f"{spec}#strict")).all()
    assert {r.template_version for r in rows} == {digest} and digest.startswith("strict@")
    # The same file again: all cached. An edited file: asked again, same judge name.
    run_judges(engine, study.name, config)
    assert server.count == 16
    strict.write_text(STRICT.replace("strict grader", "very strict grader"), encoding="utf-8")
    run_judges(engine, study.name, config)
    assert server.count == 24
    assert names(session, JudgeVerdict) == {spec, f"{spec}#strict"}
    report = report_for_study(engine, study.name, n_boot=0)
    assert {spec, f"{spec}#strict"} <= set(report.judges)


def test_ensemble_and_baselines_under_an_own_template(engine, session, server, strict):
    study = make_study(session, n_prompts=3)
    judges = [f"openai:one@{server.openai_url}", f"anthropic:two@{server.anthropic_url}"]
    config = JudgeRunConfig(
        judges=[*judges, "baseline:longest"], template=str(strict), backoff_base=0.01
    )
    summary = run_judges(engine, study.name, config)
    assert {j.judge for j in summary.judges} == {
        f"{judges[0]}#strict",
        f"{judges[1]}#strict",
        "baseline:longest",  # reads no prompt: one baseline whatever the template
        "ensemble#strict",
    }


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("$tie_rule", "$tie_rules"), r"\$tie_rules, which pairwise mode"),
        (lambda t: t.replace("SECOND: $response_b", ""), r"must show both \$response_a"),
        (lambda t: t.replace("[reference]\nREFERENCE: $reference\n", ""), "missing section"),
        (lambda t: t.replace("$criteria", "${criteria"), "starts no placeholder at"),
    ],
)
def test_a_broken_template_is_refused_before_any_call(tmp_path, edit, message):
    path = tmp_path / "bad.txt"
    path.write_text(edit(STRICT), encoding="utf-8")
    with pytest.raises(InputError, match=message):
        resolve_template(str(path), "pairwise")


def test_cli_template_option(engine, session, server, strict, tmp_path):
    study = make_study(session, n_prompts=2)
    runner = CliRunner()
    spec = f"openai:judge-model@{server.openai_url}"
    result = runner.invoke(app, ["judge", study.name, "-j", spec, "--template", str(strict)])
    assert result.exit_code == 0, result.output
    assert f"{spec}#strict" in result.stdout
    missing = runner.invoke(
        app, ["judge", study.name, "-j", spec, "--template", str(tmp_path / "nope.txt")]
    )
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    unknown = runner.invoke(app, ["judge", study.name, "-j", spec, "--template", "pairwise_v9"])
    assert unknown.exit_code == 2 and "no prompt template 'pairwise_v9'" in unknown.stderr
    assert server.count == 4
