"""Issue 9 finding 3 (the traceback half): a database error on the annotate path shows a
plain message with an error id and a retry, never a traceback with SQL or server paths; the
id and the traceback are in the server log. Error details are off in every way we serve."""

from __future__ import annotations

import re
import tomllib

import pytest
from sqlalchemy.exc import OperationalError

import sidebyside.annotate.assignment as assignment
import sidebyside.annotate.membership as membership
from sidebyside.cli.serve_cmd import STREAMLIT_FLAGS
from tests.conftest import ROOT
from tests.test_pages import app_as, everything_sent, fill_scores, ratings, vote, world

__all__ = ["world"]  # the fixture, re-used

LOCKED = OperationalError(
    "UPDATE assignment SET slot=? /srv/app/db.sqlite", {}, Exception("database is locked")
)


def _message_and_log(text: str, caplog) -> str:
    match = re.search(r"error id ([0-9a-f]{8})", text)
    assert match, text
    assert match.group(1) in caplog.text and "database is locked" in caplog.text
    return match.group(1)


def test_a_failing_vote_is_a_message_with_an_id_and_can_be_retried(world, monkeypatch, caplog):
    real = assignment.submit_rating

    def locked(*args, **kwargs):
        raise LOCKED

    # Patched before the page runs: its callbacks are bound when the page draws the buttons.
    monkeypatch.setattr(assignment, "submit_rating", locked)
    at = app_as(world["ann"])
    fill_scores(at)
    with caplog.at_level("ERROR", logger="sidebyside.errors"):
        vote(at, "A")
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    _message_and_log(shown, caplog)
    assert "press the button again" in shown
    sent = everything_sent(at)
    assert "UPDATE assignment" not in sent and "/srv/app" not in sent and "Traceback" not in sent
    assert ratings(world["engine"]) == []
    monkeypatch.setattr(assignment, "submit_rating", real)  # the database is back: retry
    at.run()  # the page redraws (callbacks bound again); the annotator votes again
    fill_scores(at)
    vote(at, "A")
    assert not at.exception and len(ratings(world["engine"])) == 1


def test_a_failing_claim_shows_a_message_and_a_retry_button(world, monkeypatch, caplog):
    def locked(*args, **kwargs):
        raise LOCKED

    # Every claim goes through annotate.membership.claim_next, which calls next_assignment.
    monkeypatch.setattr(membership, "next_assignment", locked)
    with caplog.at_level("ERROR", logger="sidebyside.errors"):
        at = app_as(world["ann"])
    assert not at.exception
    _message_and_log(" ".join(e.value for e in at.error), caplog)
    assert any(b.label == "Retry" for b in at.button)


@pytest.mark.parametrize("where", ["config.toml", "serve", "browser tests"])
def test_error_details_are_never_shown_to_browsers(where):
    if where == "config.toml":
        config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
        assert config["client"]["showErrorDetails"] == "none"
    elif where == "serve":
        assert STREAMLIT_FLAGS["client.showErrorDetails"] == "none"
    else:
        source = (ROOT / "tests" / "browser_support.py").read_text()
        assert '"--client.showErrorDetails",\n        "none"' in source
