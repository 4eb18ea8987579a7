"""Adaptive allocation: claims take first the system pairs whose next vote narrows the
Bradley–Terry intervals most (Chatbot Arena's active sampling, Chiang et al. 2024, §5).

Arena hands out the next battle to the pair of models whose interval shrinks most from one more
vote. What a study publishes for three or more systems is each system's Bradley–Terry
interval, so the priority of a system pair is computed on those:

* from every human vote of the study (app and imported ratings; a tie is half a win each), a
  win matrix and the Bradley–Terry strengths ``analysis.winrates.bradley_terry`` fits to it,
  with one pseudo-tie on every system pair so that a pair without votes, or a system that
  never lost, keeps a finite strength;
* the strengths' covariance Σ: the pseudo-inverse of the Fisher information
  Σ_(i<j) (n_ij + 1) p_ij (1 − p_ij) d dᵀ, with p_ij the fitted chance that i beats j and
  d = e_i − e_j; Σ_kk is the squared width of system k's interval, up to a constant;
* one more vote on (i, j) lowers each Σ_kk by w (Σd)_k² / (1 + w dᵀΣd), w = p_ij (1 − p_ij)
  (Sherman–Morrison; exact for the pseudo-inverse, as d sums to zero);
* the priority of (i, j) is the sum of these reductions, each weighted by
  (Σ_kk / max Σ)³: the first-order drop of Σ_k Σ_kk⁴, a smooth maximum, so the widest
  intervals count most (the plain sum favours the middle of the ranking; the hard maximum
  stalls when two intervals tie for widest).

The claim then walks the annotator's own seeded queue (``blinding.queue_plan``) system pair
by system pair, best priority first; ties (every pair before the first vote) keep the
queue's order, so the first claim is the one uniform allocation makes. Sides, k, leases and
the never-twice rule are the queue's, unchanged. The order is a function of the seed, the
pairs and the votes, recomputed when a vote arrives; the votes are read incrementally (a
claim reads the study's newest rating id and the votes since the last claim, whatever the
study's size), and in full once a minute (``_votes``). With two systems there is one system
pair, and adaptive is uniform.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, func, select

from sidebyside.analysis.winrates import bradley_terry
from sidebyside.foundation.enums import Preference
from sidebyside.foundation.models import GoldPair, Output, Pair, Rating, RatingRevision, Study

#: Exponent of the smooth maximum over the systems' interval widths (see the docstring).
WIDEST = 4
#: Pseudo-votes (one tie) on every system pair: a finite fit and information before votes.
PRIOR = 1.0
#: Significant digits compared when ordering: closer priorities count as a tie, so float
#: noise between equal pairs never overrides the annotator's own queue.
_DIGITS = 9


def pair_priorities(wins: np.ndarray) -> np.ndarray:
    """Priorities (S, S), symmetric, zero on the diagonal, from a win matrix (S, S) whose
    entry [i, j] is the votes system i won over system j (ties as half each).

    Three equal systems, 40 votes on two of their pairs and 4 on the third: the third comes
    first, three times over.

    >>> p = pair_priorities(np.array([[0, 20, 20], [20, 0, 2], [20, 2, 0]]))
    >>> [round(float(p[i, j]) * 1e4, 1) for i, j in ((0, 1), (0, 2), (1, 2))]
    [9.1, 9.1, 29.6]
    """
    w = np.asarray(wins, dtype=float)
    s = w.shape[0]
    off = ~np.eye(s, dtype=bool)
    strength = bradley_terry(w + np.where(off, PRIOR / 2, 0.0), prior=0.0, tol=1e-8)
    i, j = np.triu_indices(s, 1)
    d = np.zeros((len(i), s))
    d[np.arange(len(i)), i], d[np.arange(len(i)), j] = 1.0, -1.0
    p = 1.0 / (1.0 + np.exp(strength[j] - strength[i]))
    weight = p * (1.0 - p)
    n = (w + w.T)[i, j] + PRIOR
    covariance = np.linalg.pinv((d.T * (n * weight)) @ d)
    sd = d @ covariance  # (pairs, S): Σd per system pair
    quad = (sd * d).sum(axis=1)
    drop = weight[:, None] * sd**2 / (1.0 + weight * quad)[:, None]
    var = np.diag(covariance)
    score = (drop * (var / var.max()) ** (WIDEST - 1)).sum(axis=1)
    out = np.zeros((s, s))
    out[i, j] = out[j, i] = score
    return out


@dataclass(frozen=True)
class _Layout:
    """The study's pairs by system pair (read once per number of pairs)."""

    systems: tuple[int, ...]  # system ids, sorted; a system's index is its place here
    of_pair: dict[int, tuple[int, int]]  # pair id ─► (lower, higher) system index
    sizes: dict[tuple[int, int], int]  # system pair ─► pairs


@dataclass
class _Votes:
    """A study's votes as last read: (lower, higher system id) ─► [lower wins, higher wins]
    (ties half each), and what tells whether they are still current."""

    last_id: int = 0
    revision: int | None = None
    #: The minute of the last full read (``_RECOUNT_S``).
    period: int = 0
    wins: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    #: Priorities for the layout's systems, kept until a vote arrives.
    priority: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)


_LAYOUTS: dict[tuple, _Layout] = {}
_GROUPS: dict[tuple, dict[tuple[int, int], tuple[tuple[int, bool], ...]]] = {}
_VOTES: dict[tuple, _Votes] = {}
_RECOUNT_S = 60
_LOCK = threading.Lock()


def _rows(session: Session, query) -> list:
    """Plain tuples through Core (no ORM bookkeeping per row)."""
    return session.connection().execute(query).all()


def _layout(session: Session, study_id: int, key: tuple) -> _Layout:
    """Read once per process and pair count: pairs are only ever added, so their number
    tells when the layout changed (a new minute of the queue's pair list does not)."""
    found = _LAYOUTS.get(key)
    if found is not None:
        return found
    oa, ob = aliased(Output), aliased(Output)
    rows = _rows(
        session,
        select(Pair.id, oa.system_id, ob.system_id)
        .join(oa, col(oa.id) == Pair.output_a_id)
        .join(ob, col(ob.id) == Pair.output_b_id)
        .where(Pair.study_id == study_id),
    )
    systems = tuple(sorted({s for _, a, b in rows for s in (a, b)}))
    index = {s: n for n, s in enumerate(systems)}
    of_pair: dict[int, tuple[int, int]] = {}
    sizes: dict[tuple[int, int], int] = {}
    for pid, a, b in rows:
        sp = (min(index[a], index[b]), max(index[a], index[b]))
        of_pair[pid] = sp
        sizes[sp] = sizes.get(sp, 0) + 1
    found = _Layout(systems=systems, of_pair=of_pair, sizes=sizes)
    with _LOCK:
        if len(_LAYOUTS) > 64:
            _LAYOUTS.clear()
        _LAYOUTS[key] = found
    return found


def _vote_rows(session: Session, study_id: int, after: int | None):
    """(lower system id, higher system id, lower's wins, higher's wins, votes) per system
    pair and preference: the whole study, or only the ratings with an id above ``after``."""
    oa, ob = aliased(Output), aliased(Output)
    query = (
        select(oa.system_id, ob.system_id, Rating.preference, func.count())
        .join(Pair, col(Pair.id) == Rating.pair_id)
        .join(oa, col(oa.id) == Pair.output_a_id)
        .join(ob, col(ob.id) == Pair.output_b_id)
        .where(Rating.study_id == study_id)
        # gold pairs' answers test raters; they steer no allocation (annotate/gold.py)
        .where(col(Rating.pair_id).not_in(select(GoldPair.pair_id)))
        .group_by(oa.system_id, ob.system_id, Rating.preference)
    )
    if after is not None:
        query = query.where(col(Rating.id) > after)
    return _rows(session, query)


def _add(wins: dict[tuple[int, int], list[float]], rows) -> None:
    for a, b, preference, n in rows:
        share_a = {Preference.A: 1.0, Preference.B: 0.0}.get(preference, 0.5)
        key, first = ((a, b), share_a) if a < b else ((b, a), 1.0 - share_a)
        cell = wins.setdefault(key, [0.0, 0.0])
        cell[0] += n * first
        cell[1] += n * (1.0 - first)


def _votes(session: Session, study_id: int, study_key: tuple) -> _Votes:
    """The study's votes: those since the last read (an index range, however many the study
    has), everything again after an edit (a new revision) and once a minute. The minute
    catches what an id cannot show, at the cost of one grouped read: an undone vote (its
    rating deleted) and a PostgreSQL commit that lands a lower id late."""
    last_id, revision = _rows(
        session,
        select(
            func.max(Rating.id),
            select(func.max(RatingRevision.id))
            .where(RatingRevision.study_id == study_id)
            .scalar_subquery(),
        ).where(Rating.study_id == study_id),
    )[0]
    last_id = last_id or 0
    period = int(time.monotonic() // _RECOUNT_S)
    seen = _VOTES.get(study_key)
    same = seen is not None and (seen.revision, seen.period) == (revision, period)
    if same and seen.last_id == last_id:
        return seen
    fresh = _Votes(last_id=last_id, revision=revision, period=period)
    if same and last_id > seen.last_id:
        fresh.wins = {k: list(v) for k, v in seen.wins.items()}
        _add(fresh.wins, _vote_rows(session, study_id, seen.last_id))
    else:
        _add(fresh.wins, _vote_rows(session, study_id, None))
    with _LOCK:
        if len(_VOTES) > 256:
            _VOTES.clear()
        _VOTES[study_key] = fresh
    return fresh


def _priorities(votes: _Votes, layout: _Layout) -> np.ndarray:
    found = votes.priority.get(layout.systems)
    if found is None:
        s = len(layout.systems)
        wins = np.zeros((s, s))
        for i, j in combinations(range(s), 2):
            lower, higher = votes.wins.get((layout.systems[i], layout.systems[j]), (0.0, 0.0))
            wins[i, j], wins[j, i] = lower, higher
        found = pair_priorities(wins)
        votes.priority[layout.systems] = found
    return found


def _groups(
    key: tuple, seed: int, user_id: int, plan: Sequence[tuple[int, bool]], layout: _Layout
) -> dict[tuple[int, int], tuple[tuple[int, bool], ...]]:
    """The annotator's queue split by system pair, each part in queue order; the parts in
    the order their first pair comes in the queue (what breaks ties)."""
    found = _GROUPS.get((seed, user_id, key))
    if found is None:
        parts: dict[tuple[int, int], list[tuple[int, bool]]] = {}
        for item in plan:  # the layout was read after the plan's pairs: it has them all
            parts.setdefault(layout.of_pair[item[0]], []).append(item)
        found = {sp: tuple(items) for sp, items in parts.items()}
        with _LOCK:
            if len(_GROUPS) > 256:
                _GROUPS.clear()
            _GROUPS[(seed, user_id, key)] = found
    return found


def claim_order(
    session: Session, study: Study, user_id: int, plan: Sequence[tuple[int, bool]]
) -> list[tuple[tuple[int, bool], ...]] | None:
    """The annotator's queue (``plan``, every pair of the study) as parts, one per system
    pair, in the order an adaptive claim tries them: best priority first, a system pair whose
    pairs hold all the votes they can take last. None with fewer than three systems (one
    system pair: the queue as it is)."""
    # the creation time too: a study id can come back in a database made again (tests)
    study_key = (str(session.get_bind().url), study.id, study.created_at)
    key = (*study_key, len(plan))
    layout = _layout(session, study.id, key)
    if len(layout.systems) < 3:
        return None
    votes = _votes(session, study.id, study_key)
    priority = _priorities(votes, layout)
    groups = _groups(key, study.seed, user_id, plan, layout)

    def rank(sp: tuple[int, int]) -> tuple[bool, float]:
        lower, higher = layout.systems[sp[0]], layout.systems[sp[1]]
        had = sum(votes.wins.get((lower, higher), (0.0, 0.0)))
        full = had >= study.k * layout.sizes[sp]
        return full, -float(f"{priority[sp]:.{_DIGITS}g}")

    return [groups[sp] for sp in sorted(groups, key=rank)]
