"""Judgment rows: what a result, a cached copy or a failure stores, and the one writer that
upserts them.

The writer is a single thread with group commit: every result is queued the moment it
arrives and committed by the next transaction, a few milliseconds later (results arriving
within ``LINGER_S`` or while a commit runs share one transaction). SQLite allows one writer anyway,
so this is as fast as the database can go, and a killed run loses only what was in flight.
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from sidebyside.foundation.enums import JudgeMode, JudgmentKey, JudgmentStatus
from sidebyside.foundation.models import Judgment, utcnow
from sidebyside.judge.logprobs import VerdictProbs, canonical_p_b
from sidebyside.judge.parsing import Parsed, shown_to_canonical
from sidebyside.judge.providers.base import Completion
from sidebyside.judge.tasks import Task

#: How long the writer waits for company before a commit: small next to any request, large
#: enough that a burst of results shares one transaction (fewer commits, less GIL contention).
LINGER_S = 0.005
_TABLE = Judgment.__table__


def _base(task: Task) -> dict[str, Any]:
    return {
        "study_id": task.study_id,
        "pair_id": task.pair_id,
        "judge": task.judge,
        "mode": task.mode,
        "order": task.order,
        "output_id": task.output_id,
        "sample": task.sample,
        "template_version": task.template_version,
        "cache_key": task.cache_key,
    }


def result_fields(
    task: Task,
    parsed: Parsed,
    completion: Completion,
    cost: float | None,
    latency: float | None,
) -> dict[str, Any]:
    """An answer: ``ok`` with the verdict in canonical terms, or ``unparsed`` with the reason."""
    fields = (
        _base(task)
        | {
            "status": JudgmentStatus.OK if parsed.ok else JudgmentStatus.UNPARSED,
            "raw": completion.text,
            "reasoning": parsed.reasoning,
            "error": None if parsed.ok else parsed.problem,
            "input_tokens": completion.input_tokens,
            "output_tokens": completion.output_tokens,
            "cost_usd": cost,
            "latency_s": latency,
            "shown_winner": None,
            "winner": None,
            "strength": None,
            "scores": None,
        }
        | _NO_PROBS
    )
    if task.meta is not None:  # a probe's judgment: what was perturbed (judge/probe_run.py)
        fields["scores"] = dict(task.meta)
    if parsed.ok and task.mode != JudgeMode.SINGLE:
        fields["shown_winner"] = parsed.winner
        fields["winner"] = shown_to_canonical(parsed.winner, task.order)
        fields["strength"] = parsed.data.get("strength")  # graded templates only
        fields |= probability_fields(completion.extra.get("verdict_probs"), task.order)
    elif parsed.ok:
        fields["scores"] = parsed.scores
    return fields


#: Every row carries the same keys (executemany); these mean "no log-probabilities".
_NO_PROBS: dict[str, Any] = {"p_a": None, "p_b": None, "p_tie": None, "preference": None}


def probability_fields(probs: VerdictProbs | None, order: str) -> dict[str, Any]:
    """The shown probabilities of one order and its canonical preference, 1 + P(b wins) with
    a tie counting half (AlpacaEval's scale); nothing when the judge gave no probabilities."""
    if not isinstance(probs, VerdictProbs):
        return dict(_NO_PROBS)
    return {
        "p_a": probs.a,
        "p_b": probs.b,
        "p_tie": probs.tie,
        "preference": 1.0 + canonical_p_b(probs, order),
    }


def copy_fields(task: Task, source: Judgment) -> dict[str, Any]:
    """A stored answer with the same cache key, re-read for this slot (nothing is paid
    again, so the cost is 0; the winner is re-mapped with this slot's order)."""
    probs = None
    if source.p_a is not None and source.p_b is not None and source.p_tie is not None:
        probs = VerdictProbs(source.p_a, source.p_b, source.p_tie)  # same messages: same shown
    completion = Completion(
        source.raw, source.input_tokens, source.output_tokens, {"verdict_probs": probs}
    )
    return result_fields(task, task.parse(source.raw), completion, 0.0, None)


def error_fields(task: Task, message: str) -> dict[str, Any]:
    return (
        _base(task)
        | {
            "status": JudgmentStatus.ERROR,
            "error": message,
            "raw": "",
            "reasoning": "",
            "shown_winner": None,
            "winner": None,
            "strength": None,
            "scores": None,
            "cost_usd": None,
            "input_tokens": None,
            "output_tokens": None,
            "latency_s": None,
        }
        | _NO_PROBS
    )


def _slot(fields: dict[str, Any]) -> JudgmentKey:
    return JudgmentKey(*(fields[name] for name in JudgmentKey._fields))


class JudgmentWriter:
    """Upserts Judgment rows by slot on one thread, committing queued rows together."""

    def __init__(self, engine: Engine, row_ids: dict[JudgmentKey, int]):
        self.engine = engine
        #: Row id per slot; None = inserted by this writer, id not fetched yet.
        self._row_ids: dict[JudgmentKey, int | None] = dict(row_ids)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="judge-writer")
        self._lock = threading.Lock()
        self._queue: list[tuple[list[dict[str, Any]], asyncio.Future[None]]] = []
        self._draining = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._conn: Connection | None = None  # opened and used on the writer thread only

    async def write(self, rows: list[dict[str, Any]]) -> None:
        """Return once ``rows`` are committed."""
        self._loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = self._loop.create_future()
        with self._lock:
            self._queue.append((rows, future))
            start = not self._draining
            self._draining = True
        if start:
            self._executor.submit(self._drain)
        await future

    def close(self) -> None:
        """Wait for queued commits to finish, then release the connection."""
        self._executor.submit(self._close_connection)
        self._executor.shutdown(wait=True)

    def _close_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _drain(self) -> None:
        while True:
            time.sleep(LINGER_S)  # let results arriving together share one commit
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._draining = False
                    return
            error: BaseException | None = None
            try:
                self._commit([fields for rows, _ in batch for fields in rows])
            except Exception as exc:  # handed to every waiting task: the run stops
                error = exc
            for _, future in batch:
                self._loop.call_soon_threadsafe(_settle, future, error)

    def _commit(self, rows: list[dict[str, Any]]) -> None:
        """One transaction on the writer's own connection: executemany UPDATE of known slots
        and INSERT of new ones. (Core, not ORM sessions: per-commit overhead matters when
        hundreds of results arrive per second on a small machine.)"""
        if self._conn is None:
            self._conn = self.engine.connect()
        conn, now = self._conn, utcnow()
        try:
            self._bulk(conn, rows, now)
            conn.commit()
        except IntegrityError:  # another process inserted one of the slots meanwhile
            conn.rollback()
            for fields in rows:
                self._row_ids[_slot(fields)] = self._lookup(conn, _slot(fields))
            self._bulk(conn, rows, now)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise

    def _bulk(self, conn: Connection, rows: list[dict[str, Any]], now: Any) -> None:
        updates, inserts = [], []
        for fields in rows:
            slot = _slot(fields)
            if slot in self._row_ids and self._row_ids[slot] is None:
                self._row_ids[slot] = self._lookup(conn, slot)  # inserted earlier this run
            row_id = self._row_ids.get(slot)
            values = fields | {"created_at": now}
            if row_id is None:
                inserts.append(values)
            else:
                updates.append(values | {"row_id": row_id})
        if updates:
            conn.execute(_TABLE.update().where(_TABLE.c.id == bindparam("row_id")), updates)
        if inserts:
            conn.execute(_TABLE.insert(), inserts)
            for fields in inserts:  # known to exist now; the id is fetched if ever needed
                self._row_ids[_slot(fields)] = None

    @staticmethod
    def _lookup(conn: Connection, slot: JudgmentKey) -> int | None:
        c = _TABLE.c
        return conn.execute(
            select(c.id).where(*(c[name] == value for name, value in slot._asdict().items()))
        ).scalar()


def _settle(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.done():  # the waiting task was cancelled; the rows are committed anyway
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
