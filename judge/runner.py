"""Runs judge calls: asyncio, a concurrency limit per provider, retries with exponential
backoff and jitter that honour Retry-After (the only retry layer: SDK clients are built with
max_retries=0), the database cache, a cost budget, and one committed row per result.

The runner owns policy; providers only talk. The runner alone writes Judgment rows, on one
writer thread, each result committed as it arrives, so a killed run loses only what was in
flight and a rerun sends nothing it already has (rows: judge/writer.py).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.foundation.errors import ConfigError, InputError, ProviderError
from sidebyside.judge import cache
from sidebyside.judge.parsing import Parsed
from sidebyside.judge.pricing import Prices, estimate_tokens
from sidebyside.judge.providers.base import Completion, Judge
from sidebyside.judge.tasks import Task
from sidebyside.judge.writer import JudgmentWriter, copy_fields, error_fields, result_fields


@dataclass(frozen=True)
class RunOptions:
    """Policy knobs. None of them changes an answer, so none is in the cache key."""

    concurrency: int = 16
    """Requests in flight at once per provider (and server)."""
    max_retries: int = 6
    """Retries after the first attempt, for 429, 5xx, timeouts and broken bodies."""
    backoff_base: float = 0.5
    """Seconds; the n-th retry waits about base * 2**n (half of it random), capped below."""
    backoff_max: float = 30.0
    retry_after_max: float = 120.0
    """Longest Retry-After we honour (a longer one is cut to this)."""
    max_cost: float | None = None
    """USD budget for this run: no request starts if its worst case could exceed it."""


@dataclass
class JudgeStats:
    judge: str
    total: int = 0
    stored: int = 0
    copied: int = 0
    sent: int = 0
    attempts: int = 0
    retries: int = 0
    ok: int = 0
    unparsed: int = 0
    errors: int = 0
    skipped: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    cost_unknown: int = 0
    started: float | None = None
    finished: float | None = None
    stopped: str | None = None
    error_messages: Counter = field(default_factory=Counter)

    @property
    def wall_s(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started


@dataclass
class Progress:
    done: int
    total: int
    failures: int
    cost: float
    sent: int
    cached: int
    budget_stopped: bool
    #: Calls not sent (budget reached or judge stopped); ``done + skipped == total`` at the end.
    skipped: int = 0


@dataclass
class RunResult:
    stats: dict[str, JudgeStats]
    cost: float
    budget_stopped: bool
    wall_s: float

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.stats.values())


def _group_key(task: Task, judge: Judge) -> str:
    """Concurrency is limited per provider and server, e.g. all judges on one vLLM share it."""
    return f"{task.spec.provider}|{judge.base_url or task.spec.model}"


class Runner:
    def __init__(
        self,
        engine: Engine,
        judges: Mapping[str, Judge],
        *,
        options: RunOptions | None = None,
        prices: Prices | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        self.engine = engine
        self.judges = judges
        self.options = options or RunOptions()
        self.prices = prices or Prices.load()
        self.on_progress = on_progress
        self.sleep = sleep
        self.rng = rng or random.Random()
        if self.options.concurrency < 1:
            raise InputError(f"concurrency must be at least 1, got {self.options.concurrency}")

    # -- cost ---------------------------------------------------------------------------
    def worst_cost(self, task: Task) -> float | None:
        """Upper bound of one request: estimated prompt tokens plus max_tokens of output."""
        judge = self.judges[task.judge]
        price = self.prices.lookup(task.spec.provider, task.spec.model, judge.base_url)
        if price is None:
            return None
        prompt = sum(estimate_tokens(m["content"]) + 4 for m in task.request.messages)
        return (prompt * price.input + task.request.max_tokens * price.output) / 1e6

    def _cost(self, task: Task, completion: Completion) -> float | None:
        judge = self.judges[task.judge]
        return self.prices.cost(
            task.spec.provider,
            task.spec.model,
            judge.base_url,
            completion.input_tokens,
            completion.output_tokens,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            wait = min(retry_after, self.options.retry_after_max)
            return wait + self.rng.uniform(0, 0.1 * wait)  # at least what the server asked
        cap = min(self.options.backoff_max, self.options.backoff_base * 2**attempt)
        return cap / 2 + self.rng.uniform(0, cap / 2)

    # -- the run ------------------------------------------------------------------------
    async def run(self, tasks: Sequence[Task]) -> RunResult:
        missing = sorted({t.judge for t in tasks} - set(self.judges))
        if missing:
            raise ValueError(f"no judge built for {', '.join(missing)}")
        start = time.monotonic()
        self._stats = {name: JudgeStats(name) for name in dict.fromkeys(t.judge for t in tasks)}
        for t in tasks:
            self._stats[t.judge].total += 1
        self._total, self._done, self._failures = len(tasks), 0, 0
        self._spent, self._reserved, self._budget_stopped = 0.0, 0.0, False
        self._unmetered = 0.0
        with Session(self.engine) as session:
            plan = cache.plan(session, tasks)
        self._writer = JudgmentWriter(self.engine, plan.row_ids)
        try:
            groups = self._leaders(plan.send)
            if self.options.max_cost is not None:
                unknown = sorted({t.judge for t in groups if self.worst_cost(t) is None})
                if unknown:
                    raise ConfigError(
                        f"--max-cost needs prices, unknown for {', '.join(unknown)}; add them "
                        "to a price file named by SIDEBYSIDE_JUDGE_PRICES"
                    )
            for task in plan.stored:
                self._stats[task.judge].stored += 1
            if plan.copy:
                await self._writer.write([copy_fields(t, src) for t, src in plan.copy])
                for task, _ in plan.copy:
                    self._stats[task.judge].copied += 1
            self._done = len(plan.stored) + len(plan.copy)
            self._report()
            await self._launch_all(groups)
        finally:
            self._writer.close()
            for judge in self.judges.values():
                await judge.aclose()
        return RunResult(
            stats=self._stats,
            cost=self._spent,
            budget_stopped=self._budget_stopped,
            wall_s=time.monotonic() - start,
        )

    def _leaders(self, tasks: Sequence[Task]) -> dict[Task, list[Task]]:
        """One request per cache key; the other tasks with that key take its answer."""
        by_key: dict[str, list[Task]] = defaultdict(list)
        for task in tasks:
            by_key[task.cache_key].append(task)
        return {group[0]: group for group in by_key.values()}

    async def _launch_all(self, groups: dict[Task, list[Task]]) -> None:
        by_provider: dict[str, list[Task]] = defaultdict(list)
        for leader in groups:
            by_provider[_group_key(leader, self.judges[leader.judge])].append(leader)
        async with asyncio.TaskGroup() as tg:
            for leaders in by_provider.values():
                tg.create_task(self._launch_group(leaders, groups, tg))

    async def _launch_group(
        self, leaders: list[Task], groups: dict[Task, list[Task]], tg: asyncio.TaskGroup
    ) -> None:
        sem = asyncio.Semaphore(self.options.concurrency)
        for leader in leaders:
            await sem.acquire()
            stats = self._stats[leader.judge]
            worst = self.worst_cost(leader) or 0.0
            limit = self.options.max_cost
            if (
                not stats.stopped
                and limit is not None
                and worst > 0
                and (
                    self._budget_stopped
                    or self._spent + self._unmetered + self._reserved + worst > limit
                )
            ):
                self._budget_stopped = True
            if stats.stopped or (self._budget_stopped and worst > 0):
                sem.release()
                for task in groups[leader]:
                    self._stats[task.judge].skipped += 1
                self._report()
                continue
            self._reserved += worst
            tg.create_task(self._work(leader, groups[leader], worst, sem))

    async def _work(
        self, leader: Task, group: list[Task], reserved: float, sem: asyncio.Semaphore
    ) -> None:
        stats = self._stats[leader.judge]
        if stats.started is None:
            stats.started = time.monotonic()
        try:
            try:
                completion, error, latency = await self._call(leader)
            finally:
                sem.release()  # the slot is for the provider; the write below needs none
            if error is not None:
                if error.fatal and not stats.stopped:
                    stats.stopped = str(error)
                await self._writer.write([error_fields(t, str(error)) for t in group])
                self._account_error(leader, group, error)
                return
            cost = self._cost(leader, completion)
            parsed = leader.parse(completion.text)
            await self._writer.write(
                [
                    result_fields(
                        t,
                        parsed,
                        completion,
                        cost if t is leader else 0.0,
                        latency if t is leader else None,
                    )
                    for t in group
                ]
            )
            self._account_result(leader, group, completion, parsed, cost, reserved)
        finally:
            self._reserved -= reserved
            stats.finished = time.monotonic()

    async def _call(self, task: Task) -> tuple[Completion | None, ProviderError | None, float]:
        """One call with retries: (completion, None, latency) or (None, final error, latency).
        Retries 429, 5xx, timeouts and broken bodies with backoff; honours Retry-After."""
        stats = self._stats[task.judge]
        judge = self.judges[task.judge]
        attempt = 0
        while True:
            stats.attempts += 1
            started = time.monotonic()
            try:
                completion = await judge.complete(task.request)
                return completion, None, time.monotonic() - started
            except ProviderError as exc:
                error = exc
            except TimeoutError as exc:
                error = ProviderError(f"request timed out: {exc}", retryable=True)
            except Exception as exc:  # noqa: BLE001 - a provider bug must not end the run
                error = ProviderError(f"{type(exc).__name__}: {exc}")
            if error.fatal or not error.retryable or attempt >= self.options.max_retries:
                return None, error, time.monotonic() - started
            await self.sleep(self._delay(attempt, error.retry_after))
            attempt += 1
            stats.retries += 1

    def _account_error(self, leader: Task, group: list[Task], error: ProviderError) -> None:
        stats = self._stats[leader.judge]
        stats.sent += 1
        stats.errors += len(group)
        stats.error_messages[str(error)[:200]] += len(group)
        self._failures += len(group)
        self._done += len(group)
        self._report()

    def _account_result(
        self,
        leader: Task,
        group: list[Task],
        completion: Completion,
        parsed: Parsed,
        cost: float | None,
        reserved: float,
    ) -> None:
        stats = self._stats[leader.judge]
        stats.sent += 1
        if parsed.ok:
            stats.ok += 1
        else:
            stats.unparsed += 1
            self._failures += 1
        stats.copied += len(group) - 1  # the followers count as cached, whatever they say
        stats.input_tokens += completion.input_tokens or 0
        stats.output_tokens += completion.output_tokens or 0
        if cost is None:
            stats.cost_unknown += 1
            self._unmetered += reserved  # no usage reported: the budget counts the worst case
        else:
            stats.cost += cost
            self._spent += cost
        self._done += len(group)
        self._report()

    def _report(self) -> None:
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    done=self._done,
                    total=self._total,
                    failures=self._failures,
                    cost=self._spent,
                    sent=sum(s.sent for s in self._stats.values()),
                    cached=sum(s.stored + s.copied for s in self._stats.values()),
                    budget_stopped=self._budget_stopped,
                    skipped=sum(s.skipped for s in self._stats.values()),
                )
            )
