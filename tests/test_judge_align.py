"""judge-align on a planted study: the judge errs on one category unless its prompt shows an
example of that category; the new version's examples come from that category and the
cross-fitted (held-out) agreement rises; a study without ratings is refused."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import JudgeAlignment, JudgeVerdict, Judgment, Prompt
from sidebyside.judge.align import align_async
from sidebyside.judge.service import JudgeRunConfig
from sidebyside.judge.templates import resolve_template
from tests.analysis_helpers import rate
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer, shown_responses, verdict

N_PROMPTS = 20


def planted_judge(messages, body=None) -> str:
    """Right (the tuned answer) except on [math] prompts, unless the prompt it was given
    shows a [math] example: then it judges math the way people did."""
    system, user = messages[0]["content"], messages[-1]["content"]
    if body and body.get("system"):  # Anthropic's wire format carries the system apart
        system = body["system"] if isinstance(body["system"], str) else str(body["system"])
    prompt = re.search(r"<prompt>\n(.*?)\n</prompt>", user, re.DOTALL).group(1)
    shown = shown_responses([{"content": user}])
    tuned = "A" if "tuned says" in shown["response_a"] else "B"
    wrong = "B" if tuned == "A" else "A"
    learned = "<example_prompt>\n[math]" in system
    return verdict(wrong if prompt.startswith("[math]") and not learned else tuned)


def _planted(session: Session):
    study = make_study(session, n_prompts=N_PROMPTS)
    for prompt in session.exec(select(Prompt).where(Prompt.study_id == study.id)).all():
        p = int(prompt.external_id[1:])
        prompt.category = "math" if p % 2 == 0 else "writing"
        if prompt.category == "math":
            prompt.text = f"[math] {prompt.text}"
        session.add(prompt)
    session.commit()
    return study


def test_the_examples_come_from_the_category_it_errs_on(engine, session, tmp_path):
    study = _planted(session)
    built = type("B", (), {"study": study, "users": {}})()
    from sidebyside.foundation.models import Pair

    for pair in session.exec(select(Pair).where(Pair.study_id == study.id)).all():
        for annotator in ("ann", "bob"):
            rate(session, built, annotator, pair.id, "b")  # people prefer tuned (output_b)
    with LoopbackServer(judge=planted_judge) as server:
        spec = f"anthropic:judge@{server.anthropic_url}"
        result = asyncio.run(
            align_async(
                engine,
                study.name,
                JudgeRunConfig(judges=[spec]),
                shots=3,
                folds=5,
                out_dir=tmp_path,
            )
        )
    assert result.n == N_PROMPTS and result.before == 0.5 and result.after == 1.0
    assert result.difference == 0.5 and result.ci_low > 0.2
    assert (result.only_after, result.only_before) == (10, 0)
    assert result.p_value == pytest.approx(2 * 0.5**10)  # McNemar exact on 10 discordant
    assert len(result.examples) == 3 and {c for _, c in result.examples} == {"math"}
    assert all(len(chosen) == 3 for chosen in result.fold_examples)
    # Cross-fitted: no pair is an example in the fold that judges it.
    alignment = session.exec(select(JudgeAlignment)).one()
    for fold in alignment.shots:
        assert {e["category"] for e in fold["examples"]} == {"math"}
    assert alignment.agreement_before == 0.5 and alignment.agreement_after == 1.0
    # The next version is written, loads as a template, and keeps its placeholders.
    assert result.template == tmp_path / "pairwise_v2.txt"
    text = result.template.read_text()
    assert text.count("<example_prompt>\n[math]") == 3 and "$response_a" in text
    resolve_template(str(result.template), "pairwise")
    assert sorted(p.name for p in (tmp_path / "pairwise_v2.folds").iterdir()) == [
        f"fold{i}.txt" for i in range(1, 6)
    ]
    crossfit = session.exec(
        select(JudgeVerdict).where(JudgeVerdict.judge == result.aligned_judge)
    ).all()
    assert len(crossfit) == N_PROMPTS and {v.winner for v in crossfit} == {"b"}
    from sidebyside.ui.judge_calibrate import alignment_history

    history = alignment_history(session, study.id)
    assert list(history["version"]) == [2] and history["agreement after"].iloc[0] == 1.0
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from sidebyside.annotate.auth import create_user
    from sidebyside.ui.common import USER_KEY

    admin = create_user(session, username="boss", password="pw-123456-xyz", role="admin")
    session.commit()
    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "pages" / "judges.py"), default_timeout=120
    )
    at.session_state[USER_KEY] = admin.id
    at.run()
    assert not at.exception
    assert "Prompt versions (judge-align)" in [h.value for h in at.subheader]


def test_a_study_without_ratings_is_refused(engine, session, tmp_path):
    study = make_study(session, n_prompts=3)
    out = tmp_path / "out"
    out.mkdir()
    config = JudgeRunConfig(judges=["anthropic:x@http://127.0.0.1:9"])
    with pytest.raises(InputError, match="has no human ratings: judge-align compares"):
        asyncio.run(
            align_async(
                engine,
                study.name,
                config,
                out_dir=out,
            )
        )
    assert list(out.iterdir()) == [] and session.exec(select(Judgment)).all() == []
    result = CliRunner().invoke(
        app, ["judge-align", study.name, "-j", "baseline:longest", "--out-dir", str(out)]
    )
    assert result.exit_code == 2 and "reads no prompt" in result.output
