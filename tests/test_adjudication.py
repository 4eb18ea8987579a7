"""Adjudication (issue 19): the disputed pairs, a reviewer's verdict with its reason and
history, the Review page (a reviewer role, blinded or not), and the adjudicated labels in
the report and the DPO export."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from sidebyside.analysis.report import report_for_study
from sidebyside.annotate.adjudication import (
    adjudicate,
    disputed_pairs,
    history,
    pair_for_review,
    set_review_settings,
)
from sidebyside.annotate.export import export_frame
from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Adjudication, User
from sidebyside.ui.common import USER_KEY
from tests.analysis_helpers import build_study, pair_of, rate, user, verdict

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()
#: Votes of three raters on prompts 0-4 (base vs tuned): 0 splits, 1 has a majority for
#: base that the judge contradicts, 2-4 agree.
VOTES = {
    0: ("a", "b", "tie"),
    1: ("a", "a", "b"),
    2: ("b", "b", "b"),
    3: ("b", "b", "a"),
    4: ("b",) * 3,
}


@pytest.fixture
def built(session):
    b = build_study(session, n_prompts=5)
    for i, votes in VOTES.items():
        pid, _ = pair_of(b, i, "base", "tuned")
        for ann, pref in zip(("u1", "u2", "u3"), votes, strict=True):
            rate(session, b, ann, pid, pref)
        verdict(session, b, "judge-x", pid, "b", "b")
    reviewer = User(username="rev", password_hash=None, role="reviewer")
    session.add(reviewer)
    session.commit()
    b.users["rev"] = reviewer.id
    return b


def test_disputed_pairs(session, built):
    p0, p1 = (pair_of(built, i, "base", "tuned")[0] for i in (0, 1))
    rows = disputed_pairs(session, study=built.study)
    assert [(r["pair_id"], r["reasons"]) for r in rows] == [(p0, ["split"])]
    rows = disputed_pairs(session, study=built.study, judge="judge-x")
    assert [(r["pair_id"], r["reasons"]) for r in rows] == [
        (p0, ["split"]),
        (p1, ["judge disagrees"]),
    ]
    assert rows[1]["majority"] == "a" and rows[1]["judge_winner"] == "b"
    # a configurable disagreement: 2 of 3 is below 0.9 agreement
    set_review_settings(session, study=built.study, min_agreement=0.9, judge="judge-x")
    split = {
        r["pair_id"] for r in disputed_pairs(session, study=built.study) if "split" in r["reasons"]
    }
    assert len(split) == 3  # pairs 0, 1 and 3
    with pytest.raises(InputError, match="no verdicts from judge 'nobody'"):
        set_review_settings(session, study=built.study, judge="nobody")


def test_review_view_blinded_or_not_and_history(session, built):
    p0, _ = pair_of(built, 0, "base", "tuned")
    blind = pair_for_review(session, study=built.study, pair_id=p0)
    assert (blind.left_title, blind.right_title) == ("Response A", "Response B")
    shown = json.dumps(blind.__dict__, default=str)
    assert "base" not in shown.replace("b" * 10, "") and "tuned" not in shown
    assert sorted(r["answer"] for r in blind.ratings) == ["Response A", "Response B", "tie"]
    set_review_settings(session, study=built.study, blinded=False)
    open_view = pair_for_review(session, study=built.study, pair_id=p0)
    assert (open_view.left_title, open_view.right_title) == ("base", "tuned")
    assert open_view.judges[0]["answer"] == "tuned"
    rev = session.get(User, built.users["rev"])
    with pytest.raises(InputError, match="needs its reason"):
        adjudicate(session, study=built.study, pair_id=p0, reviewer=rev, shown="A", reason=" ",
                   swapped=False, blinded=False)  # fmt: skip
    adjudicate(session, study=built.study, pair_id=p0, reviewer=rev, shown="A",
               reason="base is right", swapped=False, blinded=False)  # fmt: skip
    # blinded and swapped: "Response A" is then output_b (tuned)
    adjudicate(session, study=built.study, pair_id=p0, reviewer=rev, shown="A",
               reason="on second look tuned", swapped=True, blinded=True)  # fmt: skip
    session.commit()
    past = history(session, study_id=built.study.id, pair_id=p0)
    assert [(h["preference"], h["reason"]) for h in past] == [
        ("a", "base is right"),
        ("b", "on second look tuned"),
    ]
    assert disputed_pairs(session, study=built.study)[0]["adjudicated"] == "b"


def _settle(session, built):
    rev = session.get(User, built.users["rev"])
    p0, p1 = (pair_of(built, i, "base", "tuned")[0] for i in (0, 1))
    adjudicate(session, study=built.study, pair_id=p0, reviewer=rev, shown="B", reason="r",
               swapped=False, blinded=False)  # fmt: skip
    adjudicate(session, study=built.study, pair_id=p1, reviewer=rev, shown="B", reason="r",
               swapped=False, blinded=False)  # fmt: skip
    session.commit()
    return p0, p1


def test_report_and_dpo_with_adjudicated_labels(session, built, engine):
    plain = report_for_study(engine, "s", n_boot=0)
    dpo_majority = export_frame(engine, built.study, "dpo")
    _settle(session, built)
    settled = report_for_study(engine, "s", n_boot=0, labels="adjudicated")
    assert settled.labels.model_dump() == {
        "labels": "adjudicated",
        "n_pairs": 2,
        "n_ratings_replaced": 6,
        "n_adjudicated": 2,
    }
    assert plain.labels is None and plain.human.n_ratings == 15
    assert settled.human.n_ratings == 11  # 9 ratings of pairs 2-4 plus 2 verdicts
    (row,) = settled.human.win_rates
    assert (row.wins_a, row.wins_b, row.ties) == (1, 10, 0)
    # DPO: pair 0 (split) is absent by majority; adjudicated, both settled pairs are tuned's
    dpo = export_frame(engine, built.study, "dpo", labels="adjudicated")
    assert len(dpo_majority) == 4 and len(dpo) == 5 and dpo.attrs["adjudicated"] == 2
    prompts = {"Question 0?", "Question 1?"}
    chosen = dpo[dpo["prompt"].isin(prompts)]["chosen"]
    assert set(chosen) == {"t" * 10}  # tuned's text
    res = runner.invoke(
        app, ["export", "s", "--what", "dpo", "--labels", "adjudicated", "-f", "jsonl"]
    )
    assert res.exit_code == 0
    assert "2 pair(s) labelled by an adjudicated verdict" in res.stderr
    assert len(pd.read_json(io.StringIO(res.stdout), lines=True)) == 5
    md = runner.invoke(app, ["report", "s", "--labels", "adjudicated", "-f", "md", "--n-boot", "0"])
    assert "Human labels: adjudicated. 2 rated pair(s)" in md.stdout
    bad = runner.invoke(app, ["report", "s", "--labels", "vibes"])
    assert bad.exit_code == 2 and "--labels must be one of majority, adjudicated" in bad.output


def _page(user_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "review.py"), default_timeout=30)
    at.session_state[USER_KEY] = user_id
    return at.run()


def test_review_page_for_a_reviewer_records_a_verdict(session, built):
    at = _page(built.users["rev"])
    assert not at.exception, [e.value for e in at.exception]
    assert "Response A" in at.markdown[1].value or any("Response A" in m.value for m in at.markdown)
    assert not any("tuned" in m.value for m in at.markdown)  # blinded by default
    at.radio[0].set_value("Response A is better")
    at.text_area[0].input("A answers the question")
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    session.expire_all()
    (row,) = session.exec(select(Adjudication)).all()
    assert (
        row.reason == "A answers the question" and row.blinded and row.user_id == built.users["rev"]
    )
    annotator = _page(user(session, built, "u1"))
    assert any("reviewers and admins only" in e.value for e in annotator.error)
