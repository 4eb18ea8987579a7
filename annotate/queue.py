"""Which pairs an annotator may be given next, found without reading the whole study.

Each annotator's queue is their seeded shuffle of the study's pairs (``queue_plan``), kept in
memory per process; a claim walks it from the start, skips the pairs the annotator already
had (their own assignments, an indexed read that grows with their work only) and checks the
rest a batch at a time for room (live slot holders and imported ratings, counted through the
pair_id index). So a claim costs about the same at 2,000 pairs as at 25,000.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import islice

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from sidebyside.annotate.allocation import claim_order
from sidebyside.annotate.blinding import queue_plan
from sidebyside.foundation.enums import Allocation, AssignmentStatus
from sidebyside.foundation.models import Assignment, Pair, Rating, Study


def _rows(session: Session, query) -> list:
    """Plain tuples through Core: the bulk reads below skip the ORM's per-row bookkeeping."""
    return session.connection().execute(query).all()


def _live_holders(session: Session, pair_ids: list[int], cutoff: datetime) -> dict[int, int]:
    """Live slot holders (finished, or open within the lease) of the given pairs, counted
    through the pair_id index: a claim looks at a few candidate pairs, never the whole study."""
    return dict(
        _rows(
            session,
            select(Assignment.pair_id, func.count())
            .where(
                col(Assignment.pair_id).in_(pair_ids),
                col(Assignment.slot).is_not(None),
                or_(
                    col(Assignment.status) != AssignmentStatus.OPEN,
                    col(Assignment.opened_at) >= cutoff,
                ),
            )
            .group_by(Assignment.pair_id),
        )
    )


def imported_counts(
    session: Session, study_id: int, pair_id: int | list[int] | None = None
) -> dict[int, int]:
    """Ratings made outside the app (import-ratings) per pair: they count towards k too.
    ``pair_id``: one pair, a list of pairs, or None for the whole study."""
    query = select(Rating.pair_id, func.count()).where(
        Rating.study_id == study_id, col(Rating.assignment_id).is_(None)
    )
    if isinstance(pair_id, list):
        query = query.where(col(Rating.pair_id).in_(pair_id))
    elif pair_id is not None:
        query = query.where(Rating.pair_id == pair_id)
    return dict(_rows(session, query.group_by(Rating.pair_id)))  # type: ignore[arg-type]


def open_assignment(session: Session, study_id: int, user_id: int) -> Assignment | None:
    """The pair this annotator claimed and has not rated or skipped yet, if any."""
    return session.exec(
        select(Assignment)
        .where(
            Assignment.study_id == study_id,
            Assignment.user_id == user_id,
            Assignment.status == AssignmentStatus.OPEN,
            col(Assignment.slot).is_not(None),
        )
        .order_by(Assignment.id)
    ).first()


def _ids(session: Session, query) -> list[int]:
    return session.connection().execute(query).scalars().all()  # type: ignore[return-value]


def _pair_list(session: Session, study_id: int) -> tuple[tuple, tuple[int, ...]]:
    """(cache key, the study's pair ids), the ids read once per (study, last pair id): pairs
    are only ever added (new ids are higher), so the highest id tells when the list changed,
    and the (study_id, id) index answers that without reading the pairs."""
    last = (
        session.connection()
        .execute(select(func.max(Pair.id)).where(Pair.study_id == study_id))
        .scalar()
    )
    # Also re-read after a minute: two imports committing out of id order (PostgreSQL) could
    # leave a lower id unseen; it then joins the queues a minute late, never lost.
    key = (str(session.get_bind().url), study_id, last, int(time.monotonic() // _PAIR_TTL_S))
    ids = _PAIR_IDS.get(key)
    if ids is None:
        ids = tuple(_ids(session, select(Pair.id).where(Pair.study_id == study_id)))
        with _CACHE_LOCK:
            if len(_PAIR_IDS) > 64:
                _PAIR_IDS.clear()
            _PAIR_IDS[key] = ids
    return key, ids


def _plan(
    seed: int, user_id: int, key: tuple, ids: tuple[int, ...]
) -> tuple[tuple[int, bool], ...]:
    """The user's shuffled queue, kept per (seed, user, pair list): hashing 25k ids on every
    claim would cost more than the claim itself."""
    plan = _PLANS.get((seed, user_id, key))
    if plan is None:
        plan = tuple(queue_plan(seed, user_id, list(ids)))
        with _CACHE_LOCK:
            if len(_PLANS) > 1024:
                _PLANS.clear()
            _PLANS[(seed, user_id, key)] = plan
    return plan


_PAIR_IDS: dict[tuple, tuple[int, ...]] = {}
_PAIR_TTL_S = 60
_PLANS: dict[tuple, tuple[tuple[int, bool], ...]] = {}
_CACHE_LOCK = threading.Lock()
#: Candidate pairs checked per query while looking for a free one.
_BATCH = 32
#: Batches of each system pair an adaptive claim checks before it tries the next one.
_FIRST_BATCHES = 2


def _mine(session: Session, study_id: int, user_id: int) -> set[int]:
    """Pairs this user already had (any status): grows with their own work only."""
    return set(
        _ids(
            session,
            select(Assignment.pair_id).where(
                Assignment.study_id == study_id, Assignment.user_id == user_id
            ),
        )
    )


def claim_candidates(session: Session, study: Study, user_id: int, cutoff: datetime):
    """The user's queue in order, pairs they may be given, checked a batch at a time with
    indexed lookups: the cost depends on the batch, not on the number of pairs. Adaptive
    allocation walks the same queue system pair by system pair (``allocation.claim_order``):
    first a few batches of each, best first, so a system pair whose pairs are all taken costs
    two lookups, then the rest of each."""
    key, ids = _pair_list(session, study.id)
    mine = _mine(session, study.id, user_id)
    plan = _plan(study.seed, user_id, key, ids)
    parts = None
    if study.allocation == Allocation.ADAPTIVE:
        parts = claim_order(session, study, user_id, plan)
    if parts is None:
        for room in _rooms(session, study, plan, mine, cutoff):
            yield from room
        return
    walks = [_rooms(session, study, part, mine, cutoff) for part in parts]
    for walk in walks:
        for room in islice(walk, _FIRST_BATCHES):
            yield from room
    for walk in walks:  # every system pair's front was taken: the rest, in the same order
        for room in walk:
            yield from room


def _rooms(
    session: Session,
    study: Study,
    queue: Sequence[tuple[int, bool]],
    mine: set[int],
    cutoff: datetime,
) -> Iterator[list[tuple[int, bool]]]:
    """The pairs of ``queue`` the user may be given, a batch at a time (lazily: a claim
    stops at the first pair it gets)."""
    batch: list[tuple[int, bool]] = []
    for pid, swapped in queue:
        if pid in mine:
            continue
        batch.append((pid, swapped))
        if len(batch) == _BATCH:
            yield _with_room(session, study, batch, cutoff)
            batch = []
    if batch:
        yield _with_room(session, study, batch, cutoff)


def _with_room(session: Session, study: Study, batch: list[tuple[int, bool]], cutoff: datetime):
    pair_ids = [pid for pid, _ in batch]
    taken = _live_holders(session, pair_ids, cutoff)
    for pid, n in imported_counts(session, study.id, pair_ids).items():
        taken[pid] = taken.get(pid, 0) + n
    return [(pid, swapped) for pid, swapped in batch if taken.get(pid, 0) < study.k]
