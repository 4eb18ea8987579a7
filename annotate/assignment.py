"""Who sees which pair next, on which side.

* Each annotator walks the study's pairs in their own seeded shuffle; the side each pair is
  shown on comes from the same seed, balanced so that over the queue exactly half the pairs
  are swapped (``queue_plan``, pure). The side is stored on the assignment.
* A pair holds at most k assignments at once: each takes a ``slot`` in 0..k-1 and
  (pair_id, slot) is unique, so racing annotators cannot push a pair past k.
* An opened pair left alone for longer than the lease gives its slot up to the next
  annotator who needs work; a skipped or flagged pair gives it up at once.

Nothing here commits: the page (or command) that opened the unit of work does, so a vote is
stored when its callback's unit of work ends, before the next pair is drawn. Writes that can
lose a race on a unique key (a claimed slot, a double submit) run in a savepoint and are
retried or answered from the winner's row, as before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sidebyside.annotate.blinding import canonical_scores, to_canonical
from sidebyside.annotate.crowd import quota_reached
from sidebyside.annotate.gold import claim_gold, gold_pair_ids, qualification
from sidebyside.annotate.queue import claim_candidates, imported_counts, open_assignment
from sidebyside.foundation.enums import AssignmentStatus, Preference
from sidebyside.foundation.errors import AssignmentError
from sidebyside.foundation.grading import checked_strength
from sidebyside.foundation.models import Assignment, Rating, Study, User, utcnow
from sidebyside.foundation.rubric import rubric_of
from sidebyside.foundation.settings import get_settings


def _lease_cutoff(now: datetime, lease_minutes: float | None) -> datetime:
    minutes = get_settings().lease_minutes if lease_minutes is None else lease_minutes
    return now - timedelta(minutes=minutes)


class _Lost(Exception):
    """Another annotator got there first (inside a savepoint, which this rolls back)."""


def _try_claim(
    session: Session,
    study: Study,
    user_id: int,
    pair_id: int,
    swapped: bool,
    cutoff: datetime,
    now: datetime,
) -> Assignment | bool:
    """Take a free slot of the pair (or an expired one): the new assignment; False if the
    pair is full; True if another annotator took the slot first (their claim stands; the
    caller looks at the pair again, it may have another free slot)."""
    held = list(
        session.exec(
            select(Assignment).where(
                Assignment.pair_id == pair_id, col(Assignment.slot).is_not(None)
            )
        )
    )
    capacity = study.k - imported_counts(session, study.id, pair_id).get(pair_id, 0)
    used = {a.slot for a in held}
    free = [s for s in range(capacity) if s not in used]
    stale = [a for a in held if a.status == AssignmentStatus.OPEN and a.opened_at < cutoff]
    victim = None
    if free and len(held) < capacity:
        slot = free[0]
    else:
        if not stale or len(held) - len(stale) >= capacity:
            return False
        victim = stale[0]
        slot = victim.slot
    # The lease starts at ``now`` (the claim's clock), so the reclaimed pair is not stale
    # again at once for the next claimer.
    assignment = Assignment(
        study_id=study.id,
        pair_id=pair_id,
        user_id=user_id,
        slot=slot,
        swapped=swapped,
        opened_at=now,
    )
    try:
        with session.begin_nested():
            if victim is not None:
                # Conditional update: only one claimer can expire a given assignment.
                res = session.execute(
                    update(Assignment)
                    .where(
                        col(Assignment.id) == victim.id,
                        col(Assignment.status) == AssignmentStatus.OPEN,
                        col(Assignment.opened_at) < cutoff,
                    )
                    .values(status=AssignmentStatus.EXPIRED, slot=None)
                )
                if res.rowcount != 1:
                    raise _Lost
            session.add(assignment)
    except (_Lost, IntegrityError):  # someone took the slot first; the caller tries again
        return True
    return assignment


def next_assignment(
    session: Session,
    *,
    study: Study,
    user: User,
    now: datetime | None = None,
    lease_minutes: float | None = None,
) -> Assignment | None:
    """The pair this annotator should rate now: the one they left open, else a new one.
    None when nothing is left for them. The claim is written; the caller commits it."""
    now = now or utcnow()
    cutoff = _lease_cutoff(now, lease_minutes)
    current = open_assignment(session, study.id, user.id)
    if current is not None:
        current.opened_at = now  # the annotator is back: renew the lease
        session.add(current)
        session.flush()
        return current
    if qualification(session, study=study, user_id=user.id).failed:
        return None  # below the study's gold threshold: no further pairs (annotate.gold)
    if quota_reached(session, study=study, user_id=user.id):
        return None  # a crowd participant's quota is done (annotate.crowd)
    gold = claim_gold(session, study=study, user=user, now=now)
    if gold is not None:
        return gold
    gold_ids = gold_pair_ids(session, study.id)
    for pair_id, swapped in claim_candidates(session, study, user.id, cutoff):
        if pair_id in gold_ids:
            continue  # served only as gold, above
        for _attempt in range(study.k + 1):  # a lost race may leave another slot free
            got = _try_claim(session, study, user.id, pair_id, swapped, cutoff, now)
            if not isinstance(got, bool):
                return got
            if got is False:  # full: the next pair
                break
    return None


def _own(session: Session, assignment_id: int, user_id: int) -> Assignment:
    assignment = session.get(Assignment, assignment_id)
    if assignment is None:
        # Released: its annotator opened another study (annotate.membership), was taken off
        # the study, or the study was closed.
        raise AssignmentError(
            "this pair is not assigned to you any more: it was given back when you opened "
            "another study (or left this one); your vote on it was not stored"
        )
    if assignment.user_id != user_id:
        raise AssignmentError("this pair is not assigned to you")
    return assignment


def _existing_rating(session: Session, pair_id: int, user_id: int) -> Rating | None:
    return session.exec(
        select(Rating).where(Rating.pair_id == pair_id, Rating.user_id == user_id)
    ).first()


def submit_rating(
    session: Session,
    *,
    assignment_id: int,
    user_id: int,
    preference: str,
    scores: dict[str, dict[str, int]],
    comment: str = "",
    time_spent_s: float | None = None,
    now: datetime | None = None,
    strength: int | None = None,
) -> Rating:
    """Store a vote given in shown terms (A = left); ``strength`` grades a decisive vote in
    a five-level study (``foundation.grading``). Idempotent: a second submit of the same
    pair returns the first rating unchanged, even when the two race. The caller commits, and
    must before it shows the next pair."""
    now = now or utcnow()
    assignment = _own(session, assignment_id, user_id)
    existing = _existing_rating(session, assignment.pair_id, user_id)
    if existing is not None:
        return existing
    study = session.get(Study, assignment.study_id)
    rubric = rubric_of(study)
    if preference == Preference.TIE and not rubric.allow_ties:
        raise AssignmentError("this study does not allow ties: choose A or B")
    canonical = to_canonical(preference, assignment.swapped)
    strength = checked_strength(study.preference_levels, canonical, strength)
    canon_scores = canonical_scores(rubric, scores, assignment.swapped)
    slot = assignment.slot
    if slot is None:
        slot = _slot_for_late_submit(session, study, assignment)
    if time_spent_s is None:
        time_spent_s = (now - assignment.opened_at).total_seconds()
    rating = Rating(
        study_id=study.id,
        pair_id=assignment.pair_id,
        user_id=user_id,
        assignment_id=assignment.id,
        preference=canonical,
        strength=strength,
        scores=canon_scores,
        comment=comment.strip(),
        swapped=assignment.swapped,
        time_spent_s=round(float(time_spent_s), 3),
        created_at=now,
    )
    try:
        with session.begin_nested():
            assignment.slot = slot
            assignment.status = AssignmentStatus.DONE
            assignment.finished_at = now
            session.add(rating)
            session.add(assignment)
    except IntegrityError:
        # A double submit raced us (the first one stands), or a late vote lost its free slot
        # to a new claim made meanwhile: a clear refusal, never a raw database error.
        existing = _existing_rating(session, assignment.pair_id, user_id)
        if existing is None:
            raise AssignmentError(_handed_on(session, study, assignment.pair_id)) from None
        return existing
    return rating


def _handed_on(session: Session, study: Study, pair_id: int) -> str:
    """What happened to a pair whose lease ran out and whose places were taken meanwhile: how
    many of its places hold a rating and how many an annotator still rating it."""
    holders = session.exec(
        select(Assignment.status).where(
            Assignment.pair_id == pair_id, col(Assignment.slot).is_not(None)
        )
    ).all()
    rated = sum(1 for s in holders if s == AssignmentStatus.DONE)
    rated += imported_counts(session, study.id, pair_id).get(pair_id, 0)
    rating = sum(1 for s in holders if s == AssignmentStatus.OPEN)
    return (
        "this pair sat unanswered past its lease and was handed on: all its "
        f"{study.k} places are taken ({rated} rated, {rating} being rated by others now), "
        "so your vote on it was not stored"
    )


def _slot_for_late_submit(session: Session, study: Study, assignment: Assignment) -> int:
    """A vote on a pair whose lease ran out still counts if the pair has room left: the
    free slot it takes."""
    used = set(
        session.exec(
            select(Assignment.slot).where(
                Assignment.pair_id == assignment.pair_id, col(Assignment.slot).is_not(None)
            )
        )
    )
    imported = imported_counts(session, study.id, assignment.pair_id)
    capacity = study.k - imported.get(assignment.pair_id, 0)
    free = [s for s in range(capacity) if s not in used]
    if not free or len(used) >= capacity:
        raise AssignmentError(_handed_on(session, study, assignment.pair_id))
    return free[0]


def skip_assignment(
    session: Session,
    *,
    assignment_id: int,
    user_id: int,
    reason: str,
    flag: bool = False,
    now: datetime | None = None,
) -> Assignment:
    """Skip (or flag, e.g. "both unusable") a pair; its slot goes to someone else."""
    assignment = _own(session, assignment_id, user_id)
    if assignment.status == AssignmentStatus.DONE:
        raise AssignmentError("this pair is already rated")
    assignment.status = AssignmentStatus.SKIPPED
    assignment.flagged = flag
    assignment.reason = reason.strip()[:1000] or None
    assignment.slot = None
    assignment.finished_at = now or utcnow()
    session.add(assignment)
    session.flush()
    return assignment
