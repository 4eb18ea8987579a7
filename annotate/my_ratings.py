"""An annotator's way back: undo the last vote for a short while, list their own ratings,
and change one later with its history kept.

Everything here speaks the annotator's shown terms (A = left as they saw it) and returns no
system name or id that would reveal one. The rating row always holds the latest version, so
every analysis reads the latest; each replaced version goes to ``RatingRevision``. Nothing
here commits: the page callback's unit of work does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from sidebyside.annotate.blinding import (
    BlindPair,
    blind_view,
    canonical_scores,
    to_canonical,
    to_shown,
)
from sidebyside.annotate.conversation_view import BlindHistory, blind_history
from sidebyside.foundation.enums import AssignmentStatus, Preference
from sidebyside.foundation.errors import AssignmentError
from sidebyside.foundation.grading import PLAIN
from sidebyside.foundation.models import (
    Assignment,
    Pair,
    Prompt,
    Rating,
    RatingRevision,
    Study,
    utcnow,
)
from sidebyside.foundation.rubric import rubric_of

#: How long after a vote its "Undo" stays on offer.
UNDO_WINDOW = timedelta(minutes=2)


@dataclass(frozen=True)
class MyRating:
    """One of the annotator's own ratings, as they gave it: ``number`` counts their ratings
    in this study from 1 (a neutral handle; no database id reaches the browser)."""

    number: int
    prompt: str
    preference: str  # "A" | "B" | "tie", as shown
    scores: dict[str, dict[str, int]]  # {criterion: {"A": n, "B": n}}, as shown
    comment: str
    rated_at: datetime
    changed_at: datetime | None
    #: The pair's prompt as the imported file named it, and its category (issue 22).
    prompt_id: str = ""
    category: str | None = None


def _aware(t: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _shown_scores(scores: dict, swapped: bool) -> dict[str, dict[str, int]]:
    left, right = ("b", "a") if swapped else ("a", "b")
    return {name: {"A": s[left], "B": s[right]} for name, s in scores.items()}


def _own_app_ratings(session: Session, study_id: int, user_id: int) -> list[Rating]:
    return list(
        session.exec(
            select(Rating)
            .where(
                Rating.study_id == study_id,
                Rating.user_id == user_id,
                col(Rating.assignment_id).is_not(None),
            )
            .order_by(col(Rating.id))
        )
    )


def last_undoable(
    session: Session, *, study: Study, user_id: int, now: datetime | None = None
) -> Rating | None:
    """The annotator's latest vote in this study if it is still within the undo window."""
    ratings = _own_app_ratings(session, study.id, user_id)
    if not ratings:
        return None
    last = ratings[-1]
    if (now or utcnow()) - _aware(last.created_at) > UNDO_WINDOW:
        return None
    return last


def undo_last_vote(
    session: Session, *, study: Study, user_id: int, now: datetime | None = None
) -> dict[str, object]:
    """Take back the latest vote (within ``UNDO_WINDOW``): the rating is deleted and its pair
    reopened for the same annotator, same side, same slot, so it is the next pair they see.
    Returns the vote as given (``preference``, ``scores``, ``comment`` in shown terms), so
    the form can start from it."""
    now = now or utcnow()
    rating = last_undoable(session, study=study, user_id=user_id, now=now)
    if rating is None:
        raise AssignmentError(
            f"there is no vote to undo: undo works for {UNDO_WINDOW.seconds // 60} minutes "
            "after a vote; change older ratings on My ratings"
        )
    assignment = session.get(Assignment, rating.assignment_id)
    swapped = bool(rating.swapped)
    given = {
        "preference": to_shown(rating.preference, swapped),
        "scores": _shown_scores(rating.scores, swapped),
        "comment": rating.comment,
    }
    for revision in session.exec(
        select(RatingRevision).where(RatingRevision.rating_id == rating.id)
    ):
        session.delete(revision)
    session.delete(rating)
    session.flush()
    assignment.status = AssignmentStatus.OPEN
    assignment.finished_at = None
    assignment.opened_at = now  # a fresh lease: the pair is on screen again at once
    session.add(assignment)
    session.flush()
    return given


def my_ratings(session: Session, *, study: Study, user_id: int) -> list[MyRating]:
    """The annotator's own ratings in this study (made in the app), oldest first."""
    ratings = _own_app_ratings(session, study.id, user_id)
    prompts = {
        pair_id: (text, external_id, category)
        for pair_id, text, external_id, category in session.exec(
            select(Pair.id, Prompt.text, Prompt.external_id, Prompt.category)
            .join(Prompt, col(Prompt.id) == Pair.prompt_id)
            .where(Pair.study_id == study.id)
        ).all()
    }
    changed: dict[int, datetime] = {}
    for rating_id, when in session.exec(
        select(RatingRevision.rating_id, RatingRevision.replaced_at).where(
            RatingRevision.study_id == study.id
        )
    ):
        changed[rating_id] = max(changed.get(rating_id, when), when)
    return [
        MyRating(
            number=i,
            prompt=prompts.get(r.pair_id, ("", "", None))[0],
            prompt_id=prompts.get(r.pair_id, ("", "", None))[1],
            category=prompts.get(r.pair_id, ("", "", None))[2],
            preference=to_shown(r.preference, bool(r.swapped)),
            scores=_shown_scores(r.scores, bool(r.swapped)),
            comment=r.comment,
            rated_at=_aware(r.created_at),
            changed_at=_aware(changed[r.id]) if r.id in changed else None,
        )
        for i, r in enumerate(ratings, start=1)
    ]


def _nth(session: Session, study: Study, user_id: int, number: int) -> Rating:
    ratings = _own_app_ratings(session, study.id, user_id)
    if not 1 <= number <= len(ratings):
        raise AssignmentError(f"you have no rating number {number} in this study")
    return ratings[number - 1]


def rated_pair(session: Session, *, study: Study, user_id: int, number: int) -> BlindPair:
    """The pair of the annotator's rating ``number``, on the sides they saw it."""
    rating = _nth(session, study, user_id, number)
    return blind_view(session, session.get(Assignment, rating.assignment_id))


def rated_history(
    session: Session, *, study: Study, user_id: int, number: int
) -> BlindHistory | None:
    """The conversation history of rating ``number``'s pair as the annotator saw it (None
    for a single-turn pair)."""
    rating = _nth(session, study, user_id, number)
    return blind_history(session, session.get(Assignment, rating.assignment_id))


def edit_rating(
    session: Session,
    *,
    study: Study,
    user_id: int,
    number: int,
    preference: str,
    scores: dict[str, dict[str, int]],
    comment: str = "",
    now: datetime | None = None,
) -> Rating:
    """Change the annotator's rating ``number`` (shown terms, as on the Annotate page). The
    replaced version is kept as a ``RatingRevision`` stamped ``now``; an edit that changes
    nothing stores nothing."""
    now = now or utcnow()
    rating = _nth(session, study, user_id, number)
    rubric = rubric_of(study)
    if preference == Preference.TIE and not rubric.allow_ties:
        raise AssignmentError("this study does not allow ties: choose A or B")
    swapped = bool(rating.swapped)
    canonical = to_canonical(preference, swapped)
    canon_scores = canonical_scores(rubric, scores, swapped)
    comment = comment.strip()
    if (canonical, canon_scores, comment) == (rating.preference, rating.scores, rating.comment):
        return rating
    previous = session.exec(
        select(RatingRevision.replaced_at)
        .where(RatingRevision.rating_id == rating.id)
        .order_by(col(RatingRevision.replaced_at).desc())
    ).first()
    session.add(
        RatingRevision(
            rating_id=rating.id,
            study_id=study.id,
            preference=rating.preference,
            scores=rating.scores,
            comment=rating.comment,
            made_at=previous or rating.created_at,
            replaced_at=now,
        )
    )
    if canonical != rating.preference and rating.strength is not None:
        # A new direction here has no grade of its own: a tie none, a decisive one "better".
        rating.strength = None if canonical == Preference.TIE else PLAIN
    rating.preference = canonical.value
    rating.scores = canon_scores
    rating.comment = comment
    session.add(rating)
    session.flush()
    return rating


def rating_history(session: Session, *, study: Study) -> list[dict[str, object]]:
    """Every replaced version of the study's ratings, for the export (admin side, canonical
    terms): ``rating_id, preference, scores, comment, made_at, replaced_at``."""
    rows = session.exec(
        select(RatingRevision)
        .where(RatingRevision.study_id == study.id)
        .order_by(col(RatingRevision.rating_id), col(RatingRevision.replaced_at))
    )
    return [
        {
            "rating_id": r.rating_id,
            "preference": r.preference,
            "scores": r.scores,
            "comment": r.comment,
            "made_at": _aware(r.made_at),
            "replaced_at": _aware(r.replaced_at),
        }
        for r in rows
    ]
