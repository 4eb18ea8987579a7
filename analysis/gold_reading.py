"""The answers given on a study's gold pairs, read apart from the verdicts (which never hold
them): for ``analysis.gold`` and the frames."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from sidebyside.foundation.models import GoldPair, GoldSettings, Rating, User

#: The threshold used when the study sets none (its qualification's default).
DEFAULT_THRESHOLD = 0.8


def load_gold_answers(session: Session, study_id: int) -> list[dict[str, Any]]:
    """Every rating of a gold pair: ``annotator, pair_id, preference, expected, right``
    (``right``: the preference is one the gold pair accepts)."""
    gold = {
        g.pair_id: g
        for g in session.execute(select(GoldPair).where(GoldPair.study_id == study_id)).scalars()
    }
    if not gold:
        return []
    rows = session.execute(
        select(User.username, Rating.pair_id, Rating.preference)
        .join(User, User.id == Rating.user_id)
        .where(Rating.study_id == study_id, Rating.pair_id.in_(list(gold)))
        .order_by(Rating.id)
    ).all()
    return [
        {
            "annotator": name,
            "pair_id": pid,
            "preference": pref,
            "expected": gold[pid].expected,
            "right": pref in gold[pid].accepted,
        }
        for name, pid, pref in rows
    ]


def gold_threshold(session: Session, study_id: int) -> float:
    """The study's qualification threshold: also the accuracy a rater needs to count in
    ``report --exclude-failed-gold``."""
    row = session.get(GoldSettings, study_id)
    return row.qualify_min if row is not None else DEFAULT_THRESHOLD
