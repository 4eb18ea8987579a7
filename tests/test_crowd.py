"""Crowd participants (issue 19): the join link's account, its refusals, the quota and the
completion, and participant ids kept out of exports unless asked for."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.crowd import (
    JoinRefused,
    close_link,
    completion,
    join,
    open_link,
    participant_study,
)
from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Participant, User
from tests.analysis_helpers import build_study

SCORES = {"Accuracy": {"A": 3, "B": 3}, "Fluency": {"A": 3, "B": 3}}
PROLIFIC = {"PROLIFIC_PID": "5f1e2d", "STUDY_ID": "st1", "SESSION_ID": "se1"}


@pytest.fixture
def linked(session):
    b = build_study(session, n_prompts=6)
    link, token = open_link(session, study=b.study, quota=2, completion_code="C0DE42")
    session.commit()
    return b, link, token


def test_join_creates_a_passwordless_account_bound_to_the_id(session, linked):
    b, link, token = linked
    p = join(session, token=token, params=PROLIFIC, current_user_id=None)
    session.commit()
    account = session.get(User, p.user_id)
    assert account.password_hash is None and account.role == "annotator"
    assert "5f1e2d" not in account.username  # the id never names the account
    assert p.external_id == "5f1e2d" and p.extra == {"STUDY_ID": "st1", "SESSION_ID": "se1"}
    again = join(session, token=token, params=PROLIFIC, current_user_id=None)
    assert again.id == p.id  # back with the same id: the same participant
    same_browser = join(session, token=token, params=PROLIFIC, current_user_id=p.user_id)
    assert same_browser.id == p.id
    assert participant_study(session, p.user_id).id == b.study.id


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"STUDY_ID": "x"}, "carries no participant id \\(PROLIFIC_PID\\)"),
        ({"PROLIFIC_PID": "a" * 300}, "not a plain id"),
    ],
)
def test_join_refusals(session, linked, params, message):
    _, _, token = linked
    with pytest.raises(JoinRefused, match=message):
        join(session, token=token, params=params, current_user_id=None)
    with pytest.raises(JoinRefused, match="not known"):
        join(session, token="nope", params=PROLIFIC, current_user_id=None)
    assert session.exec(select(Participant)).all() == []


def test_one_link_cannot_become_another_participant_nor_a_closed_one(session, linked):
    _, link, token = linked
    first = join(session, token=token, params=PROLIFIC, current_user_id=None)
    session.commit()
    with pytest.raises(JoinRefused, match="cannot be used to become another participant"):
        join(session, token=token, params={"PROLIFIC_PID": "other"}, current_user_id=first.user_id)
    close_link(session, link_id=link.id)
    with pytest.raises(JoinRefused, match="closed"):
        join(session, token=token, params={"PROLIFIC_PID": "late"}, current_user_id=None)
    assert len(session.exec(select(Participant)).all()) == 1


def test_quota_then_completion(session, linked):
    b, _, token = linked
    p = join(session, token=token, params=PROLIFIC, current_user_id=None)
    session.commit()
    u = session.get(User, p.user_id)
    for _ in range(2):
        assert completion(session, user_id=u.id) is None
        a = next_assignment(session, study=b.study, user=u)
        submit_rating(session, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
        session.commit()
    assert next_assignment(session, study=b.study, user=u) is None  # quota done
    done = completion(session, user_id=u.id)
    assert done.code == "C0DE42"
    assert session.get(Participant, p.id).completed_at is not None


def test_link_options_are_checked(session):
    b = build_study(session)
    with pytest.raises(InputError, match="completion code, a redirect URL, or both"):
        open_link(session, study=b.study, quota=3)
    with pytest.raises(InputError, match="http\\(s\\) address"):
        open_link(session, study=b.study, quota=3, redirect_url="javascript:alert(1)")
    with pytest.raises(InputError, match="quota of at least one"):
        open_link(session, study=b.study, quota=0, completion_code="x")


def test_cli_and_exports_keep_ids_out_unless_asked(session, linked):
    b, _, token = linked
    runner = CliRunner()
    res = runner.invoke(app, ["crowd", "open", "s", "--quota", "3", "--completion-code", "X",
                              "--id-param", "workerId", "--param", "assignmentId"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "/join/" in res.output and "workerId={{%workerId%}}&assignmentId=" in res.output
    p = join(session, token=token, params=PROLIFIC, current_user_id=None)
    session.commit()
    u = session.get(User, p.user_id)
    a = next_assignment(session, study=b.study, user=u)
    submit_rating(session, assignment_id=a.id, user_id=u.id, preference="B", scores=SCORES)
    session.commit()
    plain = runner.invoke(app, ["export", "s", "--what", "ratings", "-f", "jsonl"])
    assert plain.exit_code == 0 and "5f1e2d" not in plain.stdout and u.username in plain.stdout
    asked = runner.invoke(
        app, ["export", "s", "--what", "ratings", "-f", "jsonl", "--participant-ids"]
    )
    assert '"annotator":"5f1e2d"' in asked.stdout.replace(" ", "")
    listed = runner.invoke(app, ["crowd", "list", "s"])
    assert "1 participants, 0 completed" in listed.output
