"""AppTest of the conversation screen: the Annotate and My ratings pages show a turn-2 pair
with both histories, the judged turn's label, and no system name in what is sent."""

from __future__ import annotations

from sqlmodel import delete, select

from sidebyside.annotate.assignment import submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.membership import add_member
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.models import Assignment, Pair, Prompt
from sidebyside.foundation.rubric import default_rubric
from tests.conversation_helpers import ANSWERS, mt_bench_study
from tests.test_pages import everything_sent, html_bodies, no_exception, page_as


def _sent(at) -> str:
    return everything_sent(at) + "\n".join(html_bodies(at))


def _check_turn_two(at) -> None:
    no_exception(at)
    sent = _sent(at)
    assert "Turn 2 of 2 (judged): the user asks" in sent
    assert "Earlier in this conversation: 1 turn" in sent
    for name in ANSWERS:
        assert name not in sent  # blind: no system name anywhere
    # One question's turn 1 (the user's) and both systems' own turn-1 answers are there.
    firsts = [[convo[q][0] for convo in ANSWERS.values()] for q in range(2)]
    assert any(all(a.split("\n")[0] in sent for a in answers) for answers in firsts)


def test_turn_two_on_annotate_and_my_ratings(engine):
    with unit_of_work(engine) as s:
        study, _ = mt_bench_study(s, name="conv", k=1)
        first = select(Prompt.id).where(Prompt.study_id == study.id, Prompt.turn == 1)
        s.exec(delete(Pair).where(Pair.prompt_id.in_(first)))
        ann = create_user(s, username="talker", password="secret-xyz-pw-1")
        add_member(s, study=study, username="talker")  # annotators rate their own studies
    at = page_as(ann, "annotate.py")
    _check_turn_two(at)
    with unit_of_work(engine) as s:
        assignment = s.exec(select(Assignment)).one()
        names = default_rubric().names
        submit_rating(
            s,
            assignment_id=assignment.id,
            user_id=ann.id,
            preference="A",
            scores={n: {"A": 3, "B": 3} for n in names},
        )
    _check_turn_two(page_as(ann, "my_ratings.py"))
