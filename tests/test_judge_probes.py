"""Stress probes (``judge-probe``): a judge that rewards length flips when the loser is padded
and not when the winner is; a fair judge flips in neither; ``baseline:longest`` flips on every
padded pair; the runs are cached; the figures reach the report and the Judges page."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report, render
from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import JudgeVerdict, Judgment
from sidebyside.judge.probe_run import run_probes_async
from sidebyside.judge.probing import apply, load_probe, load_probes
from sidebyside.judge.service import JudgeRunConfig, run_judges
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer, shown_responses, verdict

N_PROMPTS = 12


def judge_by_model(messages, body) -> str:
    """``biased``: the longer response when it is at least 1.8 times the other, else the one
    by ``tuned``; ``fair``: always the one by ``tuned``."""
    shown = shown_responses(messages)
    a, b = shown["response_a"], shown["response_b"]
    if body.get("model") == "biased" and max(len(a), len(b)) >= 1.8 * min(len(a), len(b)):
        return verdict("A" if len(a) > len(b) else "B", "the longer one is more thorough")
    return verdict("A" if "tuned says" in a else "B", "the tuned answer is right")


@pytest.fixture
def judged(engine, session: Session):
    study = make_study(session, n_prompts=N_PROMPTS)
    with LoopbackServer(judge=judge_by_model) as server:
        specs = [f"anthropic:{m}@{server.anthropic_url}" for m in ("biased", "fair")]
        specs.append("baseline:longest")
        run_judges(engine, study.name, JudgeRunConfig(judges=specs))
        yield study, specs, server


def _results(session, study) -> dict:
    report = build_report(load_study_frames(session, study.id), n_boot=0)
    return {(r.judge, r.probe): r for r in report.probes}, report


def test_pad_flips_a_length_biased_judge_and_not_a_fair_one(engine, session, judged):
    study, specs, server = judged
    biased, fair, longest = specs
    decided = session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == biased)).all()
    assert {v.winner for v in decided} == {"b"}  # tuned (output_b) wins every pair
    sent = server.count
    plan, result = asyncio.run(
        run_probes_async(engine, study.name, JudgeRunConfig(judges=specs), "pad,authority")
    )
    # 3 judges x 2 probes x 2 arms x 12 pairs x 2 orders; the baseline costs no request.
    assert len(plan.tasks) == 3 * 2 * 2 * N_PROMPTS * 2
    assert server.count - sent == 2 * 2 * 2 * N_PROMPTS * 2
    assert result.sent == len(plan.tasks)  # none was cached: every text is a new one
    results, report = _results(session, study)
    pad = results[(biased, "pad")]
    assert (pad.n, pad.flips, pad.flip_rate) == (N_PROMPTS, N_PROMPTS, 1.0)
    assert pad.ci_low > 0.7 and pad.ci_high == 1.0  # Wilson, 12 of 12
    assert (pad.control_n, pad.control_flips, pad.control_rate) == (N_PROMPTS, 0, 0.0)
    assert pad.examples and pad.examples[0].verdict == "a" and "longer" in pad.examples[0].reasoning
    for probe in ("pad", "authority"):
        r = results[(fair, probe)]
        assert (r.flip_rate, r.control_rate) == (0.0, 0.0)
    assert results[(biased, "authority")].flip_rate == 1.0  # authority's text pads, too
    r = results[(longest, "pad")]
    assert (r.n, r.flip_rate, r.control_rate) == (N_PROMPTS, 1.0, 0.0)
    # Probe judgments are never verdicts, and the judge list stays the judges'.
    assert set(report.judges) == {*specs, "ensemble"}
    assert not session.exec(select(JudgeVerdict).where(JudgeVerdict.judge.contains("probe"))).all()
    stored = session.exec(select(Judgment).where(Judgment.mode == "probe")).all()
    assert {r.scores["arm"] for r in stored} == {"probe", "control"}
    md, html = render(report, "md"), render(report, "html")
    assert "### Stress probes" in md and f"| {biased} | pad | 12 | 12 | 1.000 |" in md
    assert "<h3>Stress probes</h3>" in html
    # A rerun asks nothing again (the cache), with the same seeded texts.
    before = server.count
    _, again = asyncio.run(
        run_probes_async(engine, study.name, JudgeRunConfig(judges=specs), "pad,authority")
    )
    assert server.count == before and again.sent == 0


def test_the_cli_and_the_judges_page(engine, session, judged, monkeypatch):
    study, specs, _ = judged
    result = CliRunner().invoke(
        app, ["judge-probe", study.name, "-j", specs[0], "--probes", "pad", "--n", "5"]
    )
    assert result.exit_code == 0, result.output
    assert f"{specs[0]} (5 pairs)" in result.output and "5/5 1.00" in result.output
    from sidebyside.ui.judge_calibrate import probe_table

    table = probe_table(session, study.id)
    assert list(table["judge"]) == [specs[0]] and table["flip rate"].iloc[0] == 1.0
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from sidebyside.annotate.auth import create_user
    from sidebyside.ui.common import USER_KEY

    admin = create_user(session, username="boss", password="pw-123456-xyz", role="admin")
    session.commit()
    page = Path(__file__).resolve().parent.parent / "pages" / "judges.py"
    at = AppTest.from_file(str(page), default_timeout=120)
    at.session_state[USER_KEY] = admin.id
    at.run()
    assert not at.exception
    assert "Stress probes" in [h.value for h in at.subheader]
    shown = [d.value for d in at.dataframe if "flip rate" in d.value.columns]
    assert len(shown) == 1 and shown[0]["flips"].iloc[0] == 5


def test_unknown_probes_and_judges_without_verdicts_are_refused(engine, session):
    with pytest.raises(InputError, match=r"unknown probe 'nope'; known: authority, injection, "
                       "markdown, pad"):  # fmt: skip
        load_probes("pad,nope")
    with pytest.raises(InputError, match="probe given twice: pad"):
        load_probes(["pad", "pad"])
    study = make_study(session, n_prompts=2)
    result = CliRunner().invoke(
        app, ["judge-probe", study.name, "-j", "baseline:longest", "--probes", "padding"]
    )
    assert result.exit_code == 2 and "unknown probe 'padding'" in result.output
    result = CliRunner().invoke(app, ["judge-probe", study.name, "-j", "baseline:longest"])
    assert result.exit_code == 2
    assert "baseline:longest has no decided pair" in result.output
    assert session.exec(select(Judgment)).all() == []  # nothing half-written


def test_a_researchers_own_probe_file(tmp_path):
    path = tmp_path / "shout.toml"
    path.write_text('description = "caps"\nkind = "append"\n[params]\ntexts = ["BEST ANSWER!"]\n')
    probe = load_probe(str(path))
    assert apply(probe, "Fine.", "", seed="x") == "Fine.\n\nBEST ANSWER!"
    path.write_text('kind = "rot13"\n')
    with pytest.raises(InputError, match="kind must be one of pad, markdown, prepend, append"):
        load_probe(str(path))
    path.write_text('kind = "append"\n[params]\ntexts = []\n')
    with pytest.raises(InputError, match="texts must be a non-empty list"):
        load_probe(str(path))
