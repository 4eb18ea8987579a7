"""The judgment cache lives in the Judgment table: an ``ok`` or ``unparsed`` row with the same
cache key is an answer we already paid for. Errors are not cached (they are retried)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from sidebyside.foundation.enums import JudgmentKey, JudgmentStatus
from sidebyside.foundation.models import Judgment
from sidebyside.judge.tasks import Task

CACHEABLE = (JudgmentStatus.OK, JudgmentStatus.UNPARSED)
_CHUNK = 500  # keep IN (...) lists well under SQLite's variable limit


@dataclass
class CachePlan:
    """``stored``: answered in their own row already; ``copy``: answered in another row (same
    key, e.g. the same response scored in two pairs) - copy, do not send; ``send``: the rest.
    ``row_ids``: existing row id per task slot (stale or failed rows get overwritten)."""

    stored: list[Task] = field(default_factory=list)
    copy: list[tuple[Task, Judgment]] = field(default_factory=list)
    send: list[Task] = field(default_factory=list)
    row_ids: dict[JudgmentKey, int] = field(default_factory=dict)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def plan(session: Session, tasks: Sequence[Task]) -> CachePlan:
    """Split ``tasks`` by what the database already holds (two bulk queries, no per-task I/O)."""
    result = CachePlan()
    if not tasks:
        return result
    study_ids = sorted({t.study_id for t in tasks})
    judges = sorted({t.judge for t in tasks})
    modes = sorted({t.mode for t in tasks})
    existing: dict[JudgmentKey, tuple[int, str, str]] = {}
    rows = session.exec(
        select(
            Judgment.id,
            Judgment.judge,
            Judgment.mode,
            Judgment.pair_id,
            Judgment.order,
            Judgment.output_id,
            Judgment.sample,
            Judgment.cache_key,
            Judgment.status,
        ).where(
            col(Judgment.study_id).in_(study_ids),
            col(Judgment.judge).in_(judges),
            col(Judgment.mode).in_(modes),
        )
    ).all()
    for row_id, judge, mode, pair_id, order, output_id, sample, key, status in rows:
        # Plain strings from the database: equal to (and hashed as) the enums of a Task's slot.
        slot = JudgmentKey(judge, mode, pair_id, order, output_id, sample)
        existing[slot] = (row_id, key, status)
    pending: list[Task] = []
    for task in tasks:
        found = existing.get(task.slot)
        if found is not None:
            result.row_ids[task.slot] = found[0]
            if found[1] == task.cache_key and found[2] in CACHEABLE:
                result.stored.append(task)
                continue
        pending.append(task)
    keys = sorted({t.cache_key for t in pending})
    answers: dict[str, Judgment] = {}
    for chunk in _chunks(keys):
        for row in session.exec(
            select(Judgment).where(
                col(Judgment.cache_key).in_(chunk), col(Judgment.status).in_(CACHEABLE)
            )
        ).all():
            answers.setdefault(row.cache_key, row)
    for task in pending:
        if task.cache_key in answers:
            result.copy.append((task, answers[task.cache_key]))
        else:
            result.send.append(task)
    return result
