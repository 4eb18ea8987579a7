"""Honest small samples (issue 22): a two-prompt study's report, card and Results page say
"too few to say (n = …)" for its win rate and agreement instead of "100.0% [100.0%, 100.0%]"
or "systematic disagreement"; the minimum is a setting."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.cli.main import app as cli
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.rubric import default_rubric
from sidebyside.ui.common import USER_KEY
from tests.conftest import make_long_csv

ROOT = Path(__file__).resolve().parent.parent


def two_prompt_study(engine) -> None:
    """Two prompts, base vs tuned, each rated by three annotators who all prefer tuned."""
    scores = {c.name: {"A": 3, "B": 3} for c in default_rubric().criteria}
    with unit_of_work(engine) as s:
        study = create_study(s, name="tiny", k=3, seed=1)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(2))])
        create_user(s, username="boss", password="secret0-xyz-pw", role="admin")
        raters = [create_user(s, username=f"r{i}", password=None) for i in range(3)]
        for user in raters:
            for _ in range(2):
                a = next_assignment(s, study=study, user=user)
                shown_tuned = "B" if not a.swapped else "A"  # canonical b = tuned
                submit_rating(
                    s, assignment_id=a.id, user_id=user.id, preference=shown_tuned, scores=scores
                )


def test_the_report_and_the_card_say_too_few(engine):
    two_prompt_study(engine)
    runner = CliRunner()
    md = runner.invoke(cli, ["report", "tiny", "--format", "md", "--n-boot", "100"])
    assert md.exit_code == 0, md.output
    assert "too few to say (n = 2)" in md.output
    assert "100.0% [" not in md.output
    assert "systematic disagreement" not in md.output
    card = runner.invoke(cli, ["card", "tiny", "--format", "md", "--n-boot", "100"])
    assert card.exit_code == 0, card.output
    assert "too few to say (n = 2)" in card.output


def test_the_minimum_is_a_setting(engine, monkeypatch):
    two_prompt_study(engine)
    monkeypatch.setenv("SIDEBYSIDE_MIN_PROMPTS", "2")
    md = CliRunner().invoke(cli, ["report", "tiny", "--format", "md", "--n-boot", "100"])
    assert "too few to say (n = 2)" not in md.output.split("## Human ratings")[0]


def test_the_results_page_says_too_few(engine):
    two_prompt_study(engine)
    from sqlmodel import select

    from sidebyside.foundation.models import User

    with Session(engine) as s:
        boss = s.exec(select(User).where(User.username == "boss")).one()
    at = AppTest.from_file(str(ROOT / "pages" / "results.py"), default_timeout=120)
    at.session_state[USER_KEY] = boss.id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = " ".join(w.value for w in at.warning) + " ".join(
        str(df.value.to_dict()) for df in at.dataframe
    )
    assert "too few to say (n = 2" in shown


def test_card_base_picks_the_base_and_says_which(engine):
    import json

    two_prompt_study(engine)
    runner = CliRunner()
    default = json.loads(runner.invoke(cli, ["card", "tiny", "-f", "json", "--n-boot", "0"]).output)
    assert default["base"] == "base"
    assert any("none chosen: the study's first" in n for n in default["notes"])
    picked = runner.invoke(cli, ["card", "tiny", "-f", "json", "--n-boot", "0", "--base", "tuned"])
    card = json.loads(picked.output)
    assert card["base"] == "tuned"
    assert any(n.startswith("Base system: tuned (chosen") for n in card["notes"])
    assert {r["system"] for r in card["rows"] if r["system"]} <= {"base"}
    wrong = runner.invoke(cli, ["card", "tiny", "--base", "ghost"])
    assert wrong.exit_code == 2 and "base system 'ghost' is not in study 'tiny'" in wrong.output


def test_study_create_base_is_the_cards_default(engine):
    import json

    runner = CliRunner()
    made = runner.invoke(cli, ["study", "create", "based", "--base", "tuned"])
    assert made.exit_code == 0, made.output
    with unit_of_work(engine) as s:
        from sidebyside.foundation.lookup import get_study

        import_sources(s, study=get_study(s, "based"), sources=[("o.csv", make_long_csv(3))])
    card = json.loads(runner.invoke(cli, ["card", "based", "-f", "json", "--n-boot", "0"]).output)
    assert card["base"] == "tuned"
