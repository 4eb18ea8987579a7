"""Study membership (issue 22): annotators see and claim only their studies, the Annotate page
comes back to the study chosen last and never claims on the way, claims left on another study
are released at once, and the bad inputs (an unknown user, another study's deep link, a closed
study's invite) get a clear message with nothing claimed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from sidebyside.annotate.auth import create_invite, create_user, redeem_invite
from sidebyside.annotate.demo import SAMPLE_STUDY, load_demo
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import (
    add_member,
    claim_next,
    members,
    remove_member,
    set_closed,
    visible_studies,
)
from sidebyside.annotate.studies import create_study
from sidebyside.cli.main import app as cli
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.errors import AssignmentError, InputError, NotFound
from sidebyside.foundation.models import Assignment, Study, User
from sidebyside.ui.common import USER_KEY
from tests.conftest import make_long_csv

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


@pytest.fixture
def two(engine):
    """Studies "alpha" and "beta" (5 pairs each), annotator "ann" in both, "out" in none, an
    admin."""
    with unit_of_work(engine) as s:
        for name in ("alpha", "beta"):
            study = create_study(s, name=name, k=2, seed=3)
            import_sources(s, study=study, sources=[("o.csv", make_long_csv(5))])
        create_user(s, username="boss", password="secret0-xyz-pw", role="admin")
        create_user(s, username="ann", password="secret1-xyz-pw")
        create_user(s, username="out", password="secret2-xyz-pw")
        for name in ("alpha", "beta"):
            add_member(s, study=study_named(s, name), username="ann", actor="test")
    return engine


def study_named(s: Session, name: str) -> Study:
    return s.exec(select(Study).where(Study.name == name)).one()


def user_named(s: Session, name: str) -> User:
    return s.exec(select(User).where(User.username == name)).one()


def open_claims(engine) -> dict[str, int]:
    """Open assignments per study name."""
    with Session(engine) as s:
        names = {st.id: st.name for st in s.exec(select(Study))}
        found: dict[str, int] = {}
        for a in s.exec(select(Assignment).where(Assignment.status == "open")):
            found[names[a.study_id]] = found.get(names[a.study_id], 0) + 1
        return found


def annotate_as(engine, username: str, **query: str) -> AppTest:
    """A fresh browser session (a reload or a new login) of the app, logged in as username."""
    with Session(engine) as s:
        uid = user_named(s, username).id
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[USER_KEY] = uid
    at.run()  # "/" opens Annotate (a switch, which drops the query)
    if query:  # then the address as a deep link (/rate?study=...) gives it
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
    return at


def test_visible_studies_follow_membership(two):
    with Session(two) as s:
        ann, out, boss = (user_named(s, n) for n in ("ann", "out", "boss"))
        assert [x.name for x in visible_studies(s, ann)] == ["alpha", "beta"]
        assert visible_studies(s, out) == []
        assert [x.name for x in visible_studies(s, boss)] == ["alpha", "beta"]
        with pytest.raises(AssignmentError, match="not a member of study 'alpha'"):
            claim_next(s, study=study_named(s, "alpha"), user=out)
    assert open_claims(two) == {}


def test_claiming_in_one_study_releases_the_claim_left_in_another(two):
    with unit_of_work(two) as s:
        ann = user_named(s, "ann")
        first = claim_next(s, study=study_named(s, "alpha"), user=ann)
        assert first is not None
    with unit_of_work(two) as s:
        ann = user_named(s, "ann")
        claim_next(s, study=study_named(s, "beta"), user=ann)
        assert ann.last_study_id == study_named(s, "beta").id
    assert open_claims(two) == {"beta": 1}
    with unit_of_work(two) as s:  # the released pair is still ann's to rate later
        again = claim_next(s, study=study_named(s, "alpha"), user=user_named(s, "ann"))
        assert again.pair_id == first.pair_id
    assert open_claims(two) == {"alpha": 1}


def test_unknown_user_admin_and_removal(two):
    with unit_of_work(two) as s:
        alpha = study_named(s, "alpha")
        with pytest.raises(NotFound, match="no user 'nobody'"):
            add_member(s, study=alpha, username="nobody")
        with pytest.raises(InputError, match="admin and already sees every study"):
            add_member(s, study=alpha, username="boss")
        assert add_member(s, study=alpha, username="ann") is False  # already one
        claim_next(s, study=alpha, user=user_named(s, "ann"))
    with unit_of_work(two) as s:
        assert remove_member(s, study=study_named(s, "alpha"), username="ann") is True
        assert [u.username for u in members(s, study_named(s, "alpha").id)] == []
    assert open_claims(two) == {}  # the removed member's open pair went back at once


def test_invite_for_a_study_and_for_a_closed_one(two):
    with unit_of_work(two) as s:
        token = create_invite(s, study=study_named(s, "beta"))
        closing = create_invite(s, study=study_named(s, "alpha"))
        set_closed(s, study=study_named(s, "alpha"))
        with pytest.raises(InputError, match="'alpha' is closed"):
            create_invite(s, study=study_named(s, "alpha"))
    with unit_of_work(two) as s:
        newbie = redeem_invite(s, token=token, username="newbie", password="fresh-pass-77")
        assert [x.name for x in visible_studies(s, newbie)] == ["beta"]
    with (
        pytest.raises(InputError, match="'alpha' is closed and takes no new annotators"),
        unit_of_work(two) as s,
    ):
        redeem_invite(s, token=closing, username="late", password="fresh-pass-78")
    with Session(two) as s:
        assert s.exec(select(User).where(User.username == "late")).first() is None
        # a closed study disappears for its members, and hands out nothing
        assert [x.name for x in visible_studies(s, user_named(s, "ann"))] == ["beta"]
        with pytest.raises(AssignmentError, match="closed"):
            claim_next(s, study=study_named(s, "alpha"), user=user_named(s, "ann"))


def test_cli_adds_members_and_refuses_unknown_ones(two):
    runner = CliRunner()
    ok = runner.invoke(cli, ["annotators", "add", "out", "--study", "beta"])
    assert ok.exit_code == 0 and "'out' is now a member of study 'beta'" in ok.output
    listed = runner.invoke(cli, ["study", "members", "beta"])
    assert listed.output.split() == ["ann", "out"]
    bad = runner.invoke(cli, ["annotators", "remove", "ghost", "--study", "beta"])
    assert bad.exit_code == 2 and "no user 'ghost'" in bad.output
    bad_study = runner.invoke(cli, ["annotators", "add", "out", "--study", "gamma"])
    assert bad_study.exit_code == 2 and "no study 'gamma'" in bad_study.output
    closed = runner.invoke(cli, ["study", "close", "beta"])
    assert closed.exit_code == 0, closed.output
    refused = runner.invoke(cli, ["annotators", "invite", "--study", "beta"])
    assert refused.exit_code == 2 and "closed" in refused.output


def test_demo_annotators_join_the_demo_only(engine):
    with unit_of_work(engine) as s:
        load_demo(s)
    with Session(engine) as s:
        seen = [x.name for x in visible_studies(s, user_named(s, "annotator1"))]
        assert seen == ["demo"]
        assert SAMPLE_STUDY not in seen
        assert SAMPLE_STUDY in [x.name for x in visible_studies(s, user_named(s, "admin"))]


# ---------------------------------------------------------------- the Annotate page


def test_the_page_claims_nothing_until_a_study_is_chosen_then_comes_back_to_it(two):
    at = annotate_as(two, "ann")
    assert not at.exception
    # Two studies, none chosen yet: no fallback to the first one, nothing claimed.
    assert at.selectbox(key="study").value is None
    assert open_claims(two) == {}
    at.selectbox(key="study").set_value("beta").run()
    assert open_claims(two) == {"beta": 1}
    # A reload (a fresh browser session) comes back to beta and claims nothing in alpha.
    again = annotate_as(two, "ann")
    assert again.selectbox(key="study").value == "beta"
    assert open_claims(two) == {"beta": 1}
    # Switching to alpha releases beta's pair at once.
    again.selectbox(key="study").set_value("alpha").run()
    assert open_claims(two) == {"alpha": 1}


def test_a_non_member_sees_no_study_and_a_crafted_value_claims_nothing(two):
    at = annotate_as(two, "out")
    assert not at.exception
    assert "not a member of any open study" in at.info[0].value
    assert not at.selectbox and open_claims(two) == {}
    # A forged widget value naming a study (as a crafted websocket message would) is no choice.
    with Session(two) as s:
        uid = user_named(s, "out").id
    forged = AppTest.from_file(APP, default_timeout=60)
    forged.session_state[USER_KEY] = uid
    forged.session_state["study"] = "alpha"
    forged.run()
    assert not forged.exception and open_claims(two) == {}


def test_another_studys_deep_link_is_refused_with_nothing_claimed(two):
    with unit_of_work(two) as s:
        create_study(s, name="gamma", k=1)
    at = annotate_as(two, "ann", study="gamma")
    assert not at.exception
    assert "not a member of a study 'gamma'" in at.error[0].value
    assert open_claims(two) == {}
    linked = annotate_as(two, "ann", study="alpha")  # one of ann's: opens it
    assert linked.selectbox(key="study").value == "alpha"
    assert open_claims(two) == {"alpha": 1}
