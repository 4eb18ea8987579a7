"""Judgments (one per order) -> one JudgeVerdict per judge and pair; several judges -> an
``ensemble`` verdict. Pure functions decide; :func:`reconcile` and :func:`ensemble` store.

A pairwise verdict needs both orders answered: agreeing orders give the winner, disagreeing
orders give a tie flagged ``inconsistent``. An unparsed or failed order is never a vote, so
such a pair has no verdict (until a rerun fills the gap).

>>> combine_orders("a", "a")
('a', False)
>>> combine_orders("a", "b")
(<Preference.TIE: 'tie'>, True)
>>> [str(majority(votes)) for votes in (["a", "a", "b"], ["a", "b"], ["tie", "a", "tie"])]
['a', 'tie', 'tie']
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, update
from sqlmodel import Session, select

from sidebyside.foundation.enums import RUN_MODES, JudgeMode, JudgmentStatus, Order, Preference
from sidebyside.foundation.models import JudgeVerdict, Judgment, utcnow
from sidebyside.judge.sampling import order_votes, order_winner, pooled_votes
from sidebyside.judge.specs import ENSEMBLE


def combine_orders(winner_ab: str, winner_ba: str) -> tuple[str, bool]:
    """(winner, inconsistent) from the canonical winners of the two orders."""
    if winner_ab == winner_ba:
        return winner_ab, False
    return Preference.TIE, True


def combine_strengths(ab: int | None, ba: int | None, inconsistent: bool) -> int | None:
    """A graded verdict's strength from its two orders: the weaker (a strong verdict must
    hold in both orders); none for an inconsistent pair or an ungraded order.

    >>> [combine_strengths(2, 2, False), combine_strengths(2, 1, False)]
    [2, 1]
    >>> combine_strengths(2, None, False), combine_strengths(2, 2, True)
    (None, None)
    """
    if inconsistent or ab is None or ba is None:
        return None
    return min(ab, ba)


def order_strength(answers: Sequence[Judgment], winner: str) -> int | None:
    """One order's grade: the answer's own when asked once; for a sampled judge the weakest
    grade among the answers that voted for the order's winner (none if any is ungraded)."""
    grades = [a.strength for a in answers if a.winner == winner]
    if not grades or None in grades:
        return None
    return min(g for g in grades if g is not None)


def majority(votes: Sequence[str]) -> str:
    """The vote with strictly more support than any other; a tie when split or empty."""
    counts = Counter(votes).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return Preference.TIE
    return counts[0][0]


def prefer_by_scores(scores_a: dict, scores_b: dict) -> str:
    """Single mode: the response with the higher overall score wins; equal is a tie."""
    a, b = scores_a["overall"], scores_b["overall"]
    return Preference.A if a > b else Preference.B if b > a else Preference.TIE


@dataclass
class ReconcileStats:
    verdicts: int = 0
    inconsistent: int = 0
    incomplete: int = 0
    changed: int = 0
    removed: int = 0


def _pairwise_verdicts(rows: Iterable[Judgment]) -> tuple[dict[int, dict], int]:
    by_pair: dict[int, dict[str, list[Judgment]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_pair[row.pair_id][row.order].append(row)
    verdicts, incomplete = {}, 0
    for pair_id, orders in by_pair.items():
        # An order's votes are its answers that could be read (a sampled judge has K).
        ab, ba = (
            [r for r in orders.get(o, ()) if r.status == JudgmentStatus.OK]
            for o in (Order.AB, Order.BA)
        )
        if not ab or not ba:
            incomplete += 1
            continue
        winner_ab, winner_ba = (
            order_winner([r.winner for r in ab]),
            order_winner([r.winner for r in ba]),
        )
        winner, inconsistent = combine_orders(winner_ab, winner_ba)
        # Both orders' log-probability preferences averaged (judge/logprobs.py), else none.
        lp_ab, lp_ba = [r.preference for r in ab], [r.preference for r in ba]
        both = None not in lp_ab + lp_ba
        fields = {
            "winner": winner,
            "inconsistent": inconsistent,
            "winner_ab": winner_ab,
            "winner_ba": winner_ba,
            "preference": (sum(lp_ab) / len(lp_ab) + sum(lp_ba) / len(lp_ba)) / 2 if both else None,
            "reasoning": f"[order ab] {ab[0].reasoning}\n\n[order ba] {ba[0].reasoning}",
            "strength": combine_strengths(
                order_strength(ab, winner_ab), order_strength(ba, winner_ba), inconsistent
            ),
        } | _NO_VOTES
        if len(ab) > 1 or len(ba) > 1:  # sampled: the vote fractions (judge/sampling.py)
            votes = pooled_votes([order_votes([r.winner for r in o]) for o in (ab, ba)])
            fields |= {
                "vote_a": votes.a,
                "vote_b": votes.b,
                "vote_tie": votes.tie,
                "vote_preference": votes.preference,
            }
            if fields["preference"] is None:  # no log-probabilities: the votes are its confidence
                fields["preference"] = votes.preference
            fields["reasoning"] = f"[{votes.n} answers] " + fields["reasoning"]
        verdicts[pair_id] = fields
    return verdicts, incomplete


#: A verdict of a judge asked once: no vote fractions.
_NO_VOTES: dict[str, float | None] = dict.fromkeys(
    ("vote_a", "vote_b", "vote_tie", "vote_preference")
)


def _single_verdicts(rows: Iterable[Judgment]) -> tuple[dict[int, dict], int]:
    by_pair: dict[int, dict[str, Judgment]] = defaultdict(dict)
    for row in rows:
        by_pair[row.pair_id][row.order] = row
    verdicts, incomplete = {}, 0
    for pair_id, sides in by_pair.items():
        a, b = sides.get(Order.A), sides.get(Order.B)
        ok = JudgmentStatus.OK
        if not (a and b and a.status == ok and b.status == ok and a.scores and b.scores):
            incomplete += 1
            continue
        verdicts[pair_id] = {
            "winner": prefer_by_scores(a.scores, b.scores),
            "inconsistent": False,
            "winner_ab": None,
            "winner_ba": None,
            "preference": None,
            "strength": None,
            "reasoning": f"[a: {a.scores['overall']}/10] {a.reasoning}\n\n"
            f"[b: {b.scores['overall']}/10] {b.reasoning}",
        } | _NO_VOTES
    return verdicts, incomplete


_FIELDS = (
    "winner",
    "inconsistent",
    "winner_ab",
    "winner_ba",
    "preference",
    "strength",
    "reasoning",
    *_NO_VOTES,
)


def _store(
    session: Session, *, study_id: int, judge: str, mode: str, verdicts: dict[int, dict]
) -> ReconcileStats:
    """Make the stored verdicts of (study, judge, mode) equal ``verdicts``; write only rows
    that change (bulk statements), so a cached rerun writes nothing."""
    stats = ReconcileStats(verdicts=len(verdicts))
    stats.inconsistent = sum(v["inconsistent"] for v in verdicts.values())
    existing = {
        row.pair_id: row
        for row in session.exec(
            select(
                JudgeVerdict.id, JudgeVerdict.pair_id, *(getattr(JudgeVerdict, f) for f in _FIELDS)
            ).where(
                JudgeVerdict.study_id == study_id,
                JudgeVerdict.judge == judge,
                JudgeVerdict.mode == mode,
            )
        ).all()
    }
    now = utcnow()
    inserts, updates = [], []
    for pair_id, fields in verdicts.items():
        row = existing.pop(pair_id, None)
        if row is None:
            inserts.append(
                {
                    "study_id": study_id,
                    "pair_id": pair_id,
                    "judge": judge,
                    "mode": mode,
                    "created_at": now,
                    **fields,
                }
            )
        elif any(getattr(row, k) != v for k, v in fields.items()):
            updates.append({"id": row.id, "created_at": now, **fields})
    if inserts:
        session.execute(insert(JudgeVerdict), inserts)
    if updates:
        session.execute(update(JudgeVerdict), updates)
    if existing:
        session.execute(
            delete(JudgeVerdict).where(
                JudgeVerdict.id.in_([row.id for row in existing.values()])  # type: ignore[attr-defined]
            )
        )
    stats.changed = len(inserts) + len(updates)
    stats.removed = len(existing)
    return stats


def reconcile(session: Session, *, study_id: int, judge: str, mode: str) -> ReconcileStats:
    """Recompute one judge's verdicts on a study from its stored judgments (caller commits)."""
    if mode not in RUN_MODES:
        raise ValueError(f"cannot reconcile mode {mode!r}")
    rows = session.exec(
        select(
            Judgment.pair_id,
            Judgment.order,
            Judgment.status,
            Judgment.winner,
            Judgment.strength,
            Judgment.preference,
            Judgment.reasoning,
            Judgment.scores,
        ).where(Judgment.study_id == study_id, Judgment.judge == judge, Judgment.mode == mode)
    ).all()
    build = _pairwise_verdicts if mode == JudgeMode.PAIRWISE else _single_verdicts
    verdicts, incomplete = build(rows)
    stats = _store(session, study_id=study_id, judge=judge, mode=mode, verdicts=verdicts)
    stats.incomplete = incomplete
    return stats


def ensemble(
    session: Session, *, study_id: int, judges: Sequence[str], mode: str, name: str = ENSEMBLE
) -> ReconcileStats:
    """Majority of the given judges' verdicts per pair (tie when split), stored as judge
    ``name`` (``ensemble``, or ``ensemble#LABEL`` for judges asked with another template).
    A pair counts when at least one member has a verdict; the voters are listed
    in the reasoning."""
    if len(judges) < 2:
        raise ValueError("an ensemble needs at least two judges")
    votes: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for row in session.exec(
        select(JudgeVerdict).where(
            JudgeVerdict.study_id == study_id,
            JudgeVerdict.mode == mode,
            JudgeVerdict.judge.in_(list(judges)),  # type: ignore[attr-defined]
        )
    ).all():
        votes[row.pair_id].append((row.judge, row.winner))
    verdicts = {}
    for pair_id, cast in votes.items():
        cast.sort()
        verdicts[pair_id] = {
            "winner": majority([w for _, w in cast]),
            "inconsistent": False,
            "winner_ab": None,
            "winner_ba": None,
            "preference": None,
            "reasoning": "votes: " + ", ".join(f"{j}={w}" for j, w in cast),
        } | _NO_VOTES
    return _store(session, study_id=study_id, judge=name, mode=mode, verdicts=verdicts)
