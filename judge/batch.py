"""Batch mode: judge calls through the providers' batch APIs (OpenAI Batch, Anthropic Message
Batches), at their batch price, with the runner's guarantees kept: both orders, the cache
(a batch never asks what is stored), ``--max-cost``, unparsed answers kept with their raw text.

Resume: each batch is recorded (:class:`~foundation.models.JudgeBatch`, its cache keys
included) and committed the moment the provider returns its id. A rerun first polls the
batches not yet ingested and leaves their calls out of any new submission, so a run killed
between creation and completion (or a machine rebooted, or a day passed) picks up the same
batches and never submits twice. Failed or expired requests are stored as errors, which are
not cached: the next run submits them again, in a new batch.

A provider with a batch API names its client in its ``ProviderInfo.batch_client`` (e.g.
``judge/providers/openai_batch.py``); the client builds the request lines and talks to the SDK
(:class:`~judge.providers.batching.BatchClient`), this module owns the policy.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.errors import ConfigError, InputError
from sidebyside.foundation.models import JudgeBatch, utcnow
from sidebyside.judge import cache
from sidebyside.judge.pricing import Prices, estimate_tokens
from sidebyside.judge.providers import registry
from sidebyside.judge.providers.base import Judge
from sidebyside.judge.providers.batching import (
    ENDED,
    RUNNING,
    BatchClient,
    BatchItem,
    BatchState,
)
from sidebyside.judge.runner import JudgeStats, RunResult
from sidebyside.judge.tasks import Task
from sidebyside.judge.writer import JudgmentWriter, copy_fields, error_fields, result_fields


def supports_batch(provider: str) -> bool:
    """Whether ``provider`` declares a batch API (``--batch`` sends its judges through it)."""
    info = registry.find(provider)
    return info is not None and info.batch_client is not None


def batch_client(judge: Judge, **limits: int) -> BatchClient:
    """The batch client of a built judge (its SDK client and request shape are reused)."""
    info = registry.find(judge.spec.provider)
    target = info.batch_client if info else None
    if target is None:
        raise InputError(f"{judge.spec.name}: provider {judge.spec.provider!r} has no batch API")
    module, name = target.split(":")
    client = getattr(importlib.import_module(module), name)(judge)
    for key, value in limits.items():  # tests and the benchmark lower the providers' limits
        setattr(client, key, value)
    return client


def split(lines: Sequence[dict[str, Any]], max_requests: int, max_bytes: int) -> list[list]:
    """Consecutive chunks of at most ``max_requests`` lines and ``max_bytes`` of JSONL.

    >>> [len(c) for c in split([{"x": "a" * 10}] * 5, max_requests=2, max_bytes=10**6)]
    [2, 2, 1]
    >>> [len(c) for c in split([{"x": "a" * 10}] * 5, max_requests=99, max_bytes=40)]
    [2, 2, 1]
    """
    chunks: list[list] = []
    size = 0
    for line in lines:
        n = len(json.dumps(line, ensure_ascii=False).encode()) + 1
        if n > max_bytes:
            raise InputError(f"one request is {n} bytes, over the batch limit of {max_bytes}")
        if not chunks or len(chunks[-1]) >= max_requests or size + n > max_bytes:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += n
    return chunks


class BatchRunner:
    """Submit what is not stored, resume what was submitted, ingest what has ended."""

    def __init__(
        self,
        engine: Engine,
        clients: dict[str, BatchClient],
        *,
        prices: Prices | None = None,
        max_cost: float | None = None,
        poll_s: float = 60.0,
        wait: bool = True,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ):
        self.engine = engine
        self.clients = clients
        self.prices = prices or Prices.load()
        self.max_cost = max_cost
        self.poll_s = poll_s
        self.wait = wait
        self.sleep = sleep

    def worst_cost(self, task: Task) -> float | None:
        price = self.prices.batch(task.spec.provider, task.spec.model, self._url(task))
        if price is None:
            return None
        prompt = sum(estimate_tokens(m["content"]) + 4 for m in task.request.messages)
        return (prompt * price.input + task.request.max_tokens * price.output) / 1e6

    def _url(self, task: Task) -> str | None:
        return getattr(self.clients[task.judge], "base_url", None)

    async def run(self, tasks: Sequence[Task]) -> RunResult:
        start = time.monotonic()
        stats = {name: JudgeStats(name) for name in dict.fromkeys(t.judge for t in tasks)}
        for t in tasks:
            stats[t.judge].total += 1
        with Session(self.engine) as session:
            plan = cache.plan(session, tasks)
            open_rows = self._open_batches(session, tasks)
        writer = JudgmentWriter(self.engine, plan.row_ids)
        try:
            for task in plan.stored:
                stats[task.judge].stored += 1
            if plan.copy:
                await writer.write([copy_fields(t, src) for t, src in plan.copy])
                for task, _ in plan.copy:
                    stats[task.judge].copied += 1
            groups: dict[str, list[Task]] = defaultdict(list)  # cache key -> tasks
            for task in plan.send:
                groups[task.cache_key].append(task)
            in_flight = {k for row in open_rows for k in row.keys}
            budget_stopped = await self._submit_new(groups, in_flight, stats)
            await self._collect(groups, writer, stats)
        finally:
            writer.close()
        spent = sum(s.cost for s in stats.values())
        return RunResult(stats, spent, budget_stopped, time.monotonic() - start)

    def _open_batches(self, session: Session, tasks: Sequence[Task]) -> list[JudgeBatch]:
        study_ids = sorted({t.study_id for t in tasks})
        judges = sorted({t.judge for t in tasks})
        if not study_ids:
            return []
        return list(
            session.exec(
                select(JudgeBatch).where(
                    col(JudgeBatch.study_id).in_(study_ids),
                    col(JudgeBatch.judge).in_(judges),
                    JudgeBatch.ingested == False,  # noqa: E712 - SQL, not Python
                )
            ).all()
        )

    async def _submit_new(
        self, groups: dict[str, list[Task]], in_flight: set[str], stats: dict[str, JudgeStats]
    ) -> bool:
        """Submit every key neither stored nor in flight, within the budget. True when the
        budget left some out."""
        by_judge: dict[str, list[Task]] = defaultdict(list)
        for key, group in groups.items():
            if key not in in_flight:
                by_judge[group[0].judge].append(group[0])
        if self.max_cost is not None:
            unknown = sorted({t.judge for ts in by_judge.values() for t in ts
                              if self.worst_cost(t) is None})  # fmt: skip
            if unknown:
                raise ConfigError(
                    f"--max-cost needs batch prices, unknown for {', '.join(unknown)}; add "
                    "them to a price file named by SIDEBYSIDE_JUDGE_PRICES"
                )
        reserved, stopped = 0.0, False
        for judge, leaders in by_judge.items():
            client = self.clients[judge]
            chosen = []
            for leader in leaders:
                worst = self.worst_cost(leader) or 0.0
                if self.max_cost is not None and reserved + worst > self.max_cost:
                    stopped = True
                    stats[judge].skipped += len(groups[leader.cache_key])
                    continue
                reserved += worst
                chosen.append(leader)
            lines = [client.line(t.request, t.cache_key) for t in chosen]
            for chunk in split(lines, client.max_requests, client.max_bytes):
                batch_id = await client.submit(chunk)
                # Recorded and committed at once: from here on a rerun resumes this batch.
                with unit_of_work(self.engine) as session:
                    session.add(
                        JudgeBatch(
                            study_id=chosen[0].study_id,
                            judge=judge,
                            mode=chosen[0].mode,
                            provider=client.provider,
                            batch_id=batch_id,
                            keys=[line["custom_id"] for line in chunk],
                            n_requests=len(chunk),
                        )
                    )
                stats[judge].sent += len(chunk)
                stats[judge].attempts += 1
                if stats[judge].started is None:
                    stats[judge].started = time.monotonic()
        return stopped

    async def _collect(
        self, groups: dict[str, list[Task]], writer: JudgmentWriter, stats: dict[str, JudgeStats]
    ) -> None:
        """Poll the open batches of these judges; ingest each as it ends."""
        tasks = [t for group in groups.values() for t in group]
        while True:
            with Session(self.engine) as session:
                rows = self._open_batches(session, tasks) if tasks else []
            if not rows:
                return
            for row in rows:
                client = self.clients[row.judge]
                state = await client.poll(row.batch_id)
                if state.status == RUNNING:
                    self._update(row.id, state)
                    continue
                items = await client.results(row.batch_id) if state.status == ENDED else []
                missing = f"no result returned (batch {state.provider_status})"
                cost = await self._ingest(row, items, missing, groups, writer, stats)
                self._update(row.id, state, ingested=True, cost=cost)
            if not self.wait:
                return
            await self.sleep(self.poll_s)

    def _update(self, row_id: int, state: BatchState, *, ingested=False, cost=None) -> None:
        with unit_of_work(self.engine) as session:
            row = session.get(JudgeBatch, row_id)
            row.status, row.provider_status = state.status, state.provider_status
            row.counts = dict(state.counts)
            row.updated_at = utcnow()
            if ingested:
                row.ingested, row.cost_usd = True, cost

    async def _ingest(
        self,
        row: JudgeBatch,
        items: list[BatchItem],
        missing: str,
        groups: dict[str, list[Task]],
        writer: JudgmentWriter,
        stats: dict[str, JudgeStats],
    ) -> float | None:
        """Write every answered key of the batch; keys without a result become errors."""
        s = stats.setdefault(row.judge, JudgeStats(row.judge))
        by_key = {item.custom_id: item for item in items}
        fields, cost, unknown = [], 0.0, False
        for key in row.keys:
            group = groups.get(key)
            if not group:  # stored meanwhile, or not part of this run's plan
                continue
            leader = group[0]
            item = by_key.get(key) or BatchItem(key, error=missing)
            if item.completion is None:
                fields += [error_fields(t, f"batch {row.batch_id}: {item.error}") for t in group]
                s.errors += len(group)
                s.error_messages[str(item.error)[:200]] += len(group)
                continue
            c = item.completion
            price = self.prices.cost(
                leader.spec.provider,
                leader.spec.model,
                self._url(leader),
                c.input_tokens,
                c.output_tokens,
                batch=True,
            )
            parsed = leader.parse(c.text)
            fields += [
                result_fields(t, parsed, c, price if t is leader else 0.0, None) for t in group
            ]
            s.ok += parsed.ok
            s.unparsed += not parsed.ok
            s.copied += len(group) - 1
            s.input_tokens += c.input_tokens or 0
            s.output_tokens += c.output_tokens or 0
            if price is None:
                unknown = True
                s.cost_unknown += 1
            else:
                cost += price
                s.cost += price
        if fields:
            await writer.write(fields)
        s.finished = time.monotonic()
        return None if unknown else cost


async def cancel_batches(engine: Engine, clients: dict[str, BatchClient], study_id: int) -> int:
    """Ask the provider to cancel every running batch of the study with a client here; what
    had finished still comes back and is ingested by the next ``judge --batch``."""
    with Session(engine) as session:
        rows = session.exec(
            select(JudgeBatch).where(
                JudgeBatch.study_id == study_id,
                JudgeBatch.status == RUNNING,
                col(JudgeBatch.judge).in_(list(clients)),
            )
        ).all()
    for row in rows:
        await clients[row.judge].cancel(row.batch_id)
        state = await clients[row.judge].poll(row.batch_id)
        BatchRunner(engine, clients)._update(row.id, state)
    return len(rows)


def list_batches(session: Session, study_id: int) -> list[JudgeBatch]:
    """Every batch of a study, newest first."""
    return list(
        session.exec(
            select(JudgeBatch)
            .where(JudgeBatch.study_id == study_id)
            .order_by(col(JudgeBatch.created_at).desc(), col(JudgeBatch.id).desc())
        ).all()
    )


def batch_rows(session: Session, study_id: int) -> list[dict[str, Any]]:
    """A study's batches as table rows (the Judges page), newest first."""
    return [
        {
            "batch": r.batch_id,
            "judge": r.judge,
            "status": r.status,
            "provider status": r.provider_status,
            "requests": r.n_requests,
            "counts": ", ".join(f"{k} {v}" for k, v in sorted(r.counts.items())),
            "stored": r.ingested,
            "cost (USD)": r.cost_usd,
            "created": r.created_at,
        }
        for r in list_batches(session, study_id)
    ]
