"""The annotator's way back (undo, My ratings, edit with history) and their own progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from sidebyside.analysis.frames import load_study_frames
from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.my_ratings import (
    UNDO_WINDOW,
    edit_rating,
    my_ratings,
    rated_pair,
    rating_history,
    undo_last_vote,
)
from sidebyside.annotate.progress import my_progress
from sidebyside.foundation.enums import AssignmentStatus
from sidebyside.foundation.errors import AssignmentError
from sidebyside.foundation.models import Assignment, Rating, RatingRevision, utcnow

CRITERIA = ("Accuracy", "Relevance", "Format compliance", "Fluency")


def scores(a: int, b: int) -> dict[str, dict[str, int]]:
    return {c: {"A": a, "B": b} for c in CRITERIA}


def vote(session: Session, study, user, preference="A", s=(4, 2), spent=10.0, now=None):
    a = next_assignment(session, study=study, user=user)
    rating = submit_rating(
        session,
        assignment_id=a.id,
        user_id=user.id,
        preference=preference,
        scores=scores(*s),
        comment="first",
        time_spent_s=spent,
        now=now,
    )
    session.commit()
    return a, rating


def test_undo_reopens_the_same_pair_and_returns_the_vote(session, study_with_pairs):
    study = study_with_pairs
    u = create_user(session, username="ann", password="pass1234-xyz")
    first, _ = vote(session, study, u, "A", (5, 1))
    nxt = next_assignment(session, study=study, user=u)  # the page draws the next pair at once
    session.commit()
    given = undo_last_vote(session, study=study, user_id=u.id)
    session.commit()
    assert given == {"preference": "A", "scores": scores(5, 1), "comment": "first"}
    assert session.exec(select(Rating)).all() == []
    again = next_assignment(session, study=study, user=u)
    assert again.id == first.id and again.status == AssignmentStatus.OPEN
    assert again.id != nxt.id
    # Nothing left to undo now.
    with pytest.raises(AssignmentError, match="no vote to undo"):
        undo_last_vote(session, study=study, user_id=u.id)


def test_undo_window_closes(session, study_with_pairs):
    study = study_with_pairs
    u = create_user(session, username="ann", password="pass1234-xyz")
    vote(session, study, u, now=utcnow() - UNDO_WINDOW - timedelta(seconds=1))
    with pytest.raises(AssignmentError, match="My ratings"):
        undo_last_vote(session, study=study, user_id=u.id)
    assert len(session.exec(select(Rating)).all()) == 1


def test_edit_keeps_history_and_analyses_read_the_latest(session, engine, study_with_pairs):
    study = study_with_pairs
    u = create_user(session, username="ann", password="pass1234-xyz")
    assignment, rating = vote(session, study, u, "A", (4, 2))
    shown_a_is_b = assignment.swapped
    mine = my_ratings(session, study=study, user_id=u.id)
    assert [(m.number, m.preference, m.changed_at) for m in mine] == [(1, "A", None)]
    assert mine[0].scores == scores(4, 2)  # as the annotator saw it, whatever the sides
    pair = rated_pair(session, study=study, user_id=u.id, number=1)
    assert pair.prompt == mine[0].prompt

    edit_rating(
        session,
        study=study,
        user_id=u.id,
        number=1,
        preference="B",
        scores=scores(1, 5),
        comment="changed my mind",
    )
    session.commit()
    mine = my_ratings(session, study=study, user_id=u.id)
    assert mine[0].preference == "B" and mine[0].scores == scores(1, 5)
    assert mine[0].comment == "changed my mind" and mine[0].changed_at is not None
    # Canonical storage: B as shown is output_a when the pair was shown swapped.
    stored = session.get(Rating, rating.id)
    assert stored.preference == ("a" if shown_a_is_b else "b")
    history = rating_history(session, study=study)
    assert len(history) == 1
    assert history[0]["preference"] == ("b" if shown_a_is_b else "a")
    assert history[0]["comment"] == "first"
    assert history[0]["replaced_at"] >= history[0]["made_at"]
    # The analyses read the one latest row per rating.
    human = load_study_frames(engine, study.id).human
    assert len(human) == 1

    # An edit that changes nothing stores no revision.
    edit_rating(
        session,
        study=study,
        user_id=u.id,
        number=1,
        preference="B",
        scores=scores(1, 5),
        comment="changed my mind",
    )
    session.commit()
    assert len(session.exec(select(RatingRevision)).all()) == 1


def test_edit_refuses_bad_input_and_other_peoples_numbers(session, study_with_pairs):
    study = study_with_pairs
    u = create_user(session, username="ann", password="pass1234-xyz")
    vote(session, study, u)
    with pytest.raises(AssignmentError, match="no rating number 2"):
        edit_rating(
            session, study=study, user_id=u.id, number=2, preference="A", scores=scores(1, 1)
        )
    with pytest.raises(AssignmentError, match="Accuracy"):
        edit_rating(
            session,
            study=study,
            user_id=u.id,
            number=1,
            preference="A",
            scores={"Accuracy": {"A": 9, "B": 1}},
        )
    assert session.exec(select(RatingRevision)).all() == []


def test_my_progress_is_the_same_for_two_annotators_and_ignores_open_claims(
    session, study_with_pairs
):
    study = study_with_pairs  # 20 pairs, k=2
    u1, u2, u3 = (create_user(session, username=f"u{i}", password="pass1234-xyz") for i in range(3))
    next_assignment(session, study=study, user=u1)  # u1 opens a pair; u2 and u3 unaffected
    next_assignment(session, study=study, user=u2)
    session.commit()
    p2, p3 = (my_progress(session, study=study, user_id=u.id) for u in (u2, u3))
    assert (p2.done, p2.left) == (0, 20) == (p3.done, p3.left)
    assert p2.median_seconds is None and p2.seconds_left is None
    vote(session, study, u1, spent=10)
    vote(session, study, u2, spent=30)  # u2 rates the pair it opened
    vote(session, study, u2, spent=50)
    p1, p2, p3 = (my_progress(session, study=study, user_id=u.id) for u in (u1, u2, u3))
    assert (p1.done, p1.total) == (1, 20)
    assert (p2.done, p2.total, p2.median_seconds) == (2, 20, 40.0)
    assert p2.seconds_left == 18 * 40.0
    # u3 has not started; pairs rated by two others (k=2) are no longer theirs to get.
    both = {
        a.pair_id for a in session.exec(select(Assignment).where(Assignment.user_id == u1.id))
    } & {a.pair_id for a in session.exec(select(Assignment).where(Assignment.user_id == u2.id))}
    assert p3.left == 20 - len(both)
