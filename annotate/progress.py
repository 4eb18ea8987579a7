"""What the admin sees of a study's progress: one function per panel of the Studies and
Progress pages (and ``sidebyside study list``). Counting is done by the database, so a
100k-rating study is one aggregate per table, not 100k objects. Read only."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from sidebyside.analysis.agreement import loo_agreement
from sidebyside.analysis.annotators import annotator_quality
from sidebyside.analysis.anytime import decision_text, study_decisions
from sidebyside.analysis.columns import ANNOTATOR, PAIR_ID, WINNER
from sidebyside.analysis.frames import load_study_frames
from sidebyside.foundation.enums import AssignmentStatus, Preference
from sidebyside.foundation.lookup import list_studies
from sidebyside.foundation.models import Assignment, Pair, Prompt, Rating, Study, User

#: Assignment statuses counted per annotator (expired ones are nobody's work any more).
_COUNTED = (AssignmentStatus.DONE, AssignmentStatus.SKIPPED, AssignmentStatus.OPEN)


def _rows(session: Session, query) -> list:
    """Plain tuples through Core: no per-row ORM bookkeeping on large studies."""
    return session.connection().execute(query).all()


def study_progress(session: Session, *, study: Study) -> dict[str, Any]:
    """Per-study and per-annotator counts: ``pairs, k, ratings, ratings_needed,
    pairs_complete, share`` (ratings / ratings needed, at most 1) and ``annotators``, one
    row each (``annotator, done, skipped, flagged, open, median_seconds``), by name."""
    n_pairs = session.exec(select(func.count()).where(Pair.study_id == study.id)).one()
    per_pair = _rows(
        session,
        select(func.count()).where(Rating.study_id == study.id).group_by(Rating.pair_id),
    )
    ratings = sum(n for (n,) in per_pair)
    complete = sum(1 for (n,) in per_pair if n >= study.k)
    per_user: dict[int, dict] = {}
    counts = _rows(
        session,
        select(
            Assignment.user_id, User.username, Assignment.status, Assignment.flagged, func.count()
        )
        .join(User, col(User.id) == Assignment.user_id)
        .where(Assignment.study_id == study.id)
        .group_by(Assignment.user_id, User.username, Assignment.status, Assignment.flagged),
    )
    for user_id, username, status, flagged, n in counts:
        u = per_user.setdefault(
            user_id,
            {
                "annotator": username,
                AssignmentStatus.DONE.value: 0,
                AssignmentStatus.SKIPPED.value: 0,
                "flagged": 0,
                AssignmentStatus.OPEN.value: 0,
            },
        )
        if status in _COUNTED:
            u[AssignmentStatus(status).value] += n
        if status == AssignmentStatus.SKIPPED and flagged:
            u["flagged"] += n
    times: dict[int, list[float]] = defaultdict(list)
    for user_id, t in _rows(
        session,
        select(Rating.user_id, Rating.time_spent_s).where(
            Rating.study_id == study.id, col(Rating.time_spent_s).is_not(None)
        ),
    ):
        times[user_id].append(t)
    for user_id, u in per_user.items():
        spent = sorted(times.get(user_id, []))
        u["median_seconds"] = spent[len(spent) // 2] if spent else None
    needed = n_pairs * study.k
    return {
        "pairs": n_pairs,
        "k": study.k,
        "ratings": ratings,
        "ratings_needed": needed,
        "pairs_complete": complete,
        "share": min(ratings / needed, 1.0) if needed else None,
        "annotators": sorted(per_user.values(), key=lambda u: u["annotator"]),
    }


def studies_overview(session: Session) -> list[dict[str, Any]]:
    """One row per study for the Studies page: ``study, k, pairs, ratings`` (as "n / needed"),
    ``complete pairs`` and ``created (UTC)``."""
    rows = []
    for study in list_studies(session):
        p = study_progress(session, study=study)
        rows.append(
            {
                "study": study.name,
                "k": study.k,
                "pairs": p["pairs"],
                "ratings": f"{p['ratings']} / {p['ratings_needed']}",
                "complete pairs": p["pairs_complete"],
                "created (UTC)": study.created_at.strftime("%Y-%m-%d %H:%M"),
            }
        )
    return rows


def skipped_pairs(session: Session, *, study: Study) -> list[dict[str, Any]]:
    """The study's skipped pairs, newest first: ``prompt_id`` (the imported id), ``annotator``,
    ``flagged`` (the annotator marked the pair unusable) and ``reason``."""
    rows = session.exec(
        select(Prompt.external_id, User.username, Assignment.flagged, Assignment.reason)
        .join(Pair, col(Pair.id) == Assignment.pair_id)
        .join(Prompt, col(Prompt.id) == Pair.prompt_id)
        .join(User, col(User.id) == Assignment.user_id)
        .where(Assignment.study_id == study.id, Assignment.status == AssignmentStatus.SKIPPED)
        .order_by(col(Assignment.finished_at).desc())
    ).all()
    return [
        {"prompt_id": prompt_id, "annotator": annotator, "flagged": flagged, "reason": reason}
        for prompt_id, annotator, flagged, reason in rows
    ]


def rater_checks(source: Session | Engine, study_id: int) -> list[dict[str, Any]] | None:
    """Per-annotator habits and flags (``analysis.annotators.annotator_quality`` with each
    annotator's leave-one-out agreement on the preference), None before the first rating."""
    human = load_study_frames(source, study_id).human
    if human.empty:
        return None
    long = human[[PAIR_ID, ANNOTATOR, WINNER]].set_axis(["item", "annotator", "value"], axis=1)
    return annotator_quality(human, loo_agreement(long, tie_value=Preference.TIE.value))


def anytime_progress(source: Session | Engine, study_id: int) -> list[dict[str, Any]]:
    """Per system pair, whether the human votes so far decide a winner: the report's
    ``human.anytime`` rows (``analysis.anytime``, 95%), each with its ``line`` in words
    ("A vs B — decided: A wins (at vote N)" / "... — not yet: about M more votes at this
    rate"). Empty before the first rating."""
    rows = study_decisions(load_study_frames(source, study_id))
    return [{**r, "line": f"{r['system_a']} vs {r['system_b']} — {decision_text(r)}"} for r in rows]


@dataclass(frozen=True)
class MyProgress:
    """An annotator's own progress: ``done`` pairs rated or skipped; ``left`` the pairs they
    may still receive (not yet theirs and not yet rated by k others), which does not move when
    someone else merely opens a pair, so two annotators starting together see the same
    figure; ``median_seconds`` per rated pair and ``seconds_left`` (left x median), None
    before their first rating."""

    done: int
    left: int
    median_seconds: float | None
    seconds_left: float | None
    #: Whether a pair is waiting for them (claimed, not yet rated or skipped).
    has_open: bool = False

    @property
    def total(self) -> int:
        return self.done + self.left


def my_progress(session: Session, *, study: Study, user_id: int) -> MyProgress:
    pair_ids = set(_scalars(session, select(Pair.id).where(Pair.study_id == study.id)))
    mine = dict(
        _rows(
            session,
            select(Assignment.pair_id, Assignment.status).where(
                Assignment.study_id == study.id, Assignment.user_id == user_id
            ),
        )
    )
    finished = {
        p for p, s in mine.items() if s in (AssignmentStatus.DONE, AssignmentStatus.SKIPPED)
    }
    # Full = k ratings already stored by others (votes and imports; open claims do not count).
    full = {
        pair_id
        for pair_id, n in _rows(
            session,
            select(Rating.pair_id, func.count())
            .where(Rating.study_id == study.id, Rating.user_id != user_id)
            .group_by(Rating.pair_id),
        )
        if n >= study.k
    }
    left = len(pair_ids - finished - full)
    spent = sorted(
        _scalars(
            session,
            select(Rating.time_spent_s).where(
                Rating.study_id == study.id,
                Rating.user_id == user_id,
                col(Rating.time_spent_s).is_not(None),
            ),
        )
    )
    median = float(statistics.median(spent)) if spent else None
    return MyProgress(
        done=len(finished),
        left=left,
        median_seconds=median,
        seconds_left=None if median is None else left * median,
        has_open=AssignmentStatus.OPEN in mine.values(),
    )


def _scalars(session: Session, query) -> list:
    return list(session.connection().execute(query).scalars().all())
