"""The Python API of the judges: run judges on a study (fail fast, run, reconcile, ensemble,
summarise), estimate a run's cost, and import verdicts produced elsewhere.

>>> config = JudgeRunConfig(judges=["baseline:longest"])
>>> config.mode, config.concurrency
(<JudgeMode.PAIRWISE: 'pairwise'>, 16)
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.enums import RUN_MODES, JudgeMode, JudgmentStatus
from sidebyside.foundation.errors import SpecError
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import JudgeVerdict, Judgment, Study
from sidebyside.judge import cache
from sidebyside.judge.batch import BatchRunner, batch_client, supports_batch
from sidebyside.judge.importer import ImportSummary, import_judgments_file
from sidebyside.judge.pricing import Prices, estimate_tokens
from sidebyside.judge.providers import load_judge, resolve_base_url
from sidebyside.judge.providers.base import Judge
from sidebyside.judge.reconcile import ensemble, reconcile
from sidebyside.judge.runner import Progress, Runner, RunOptions, RunResult
from sidebyside.judge.sampling import sampled_label
from sidebyside.judge.specs import ENSEMBLE, JudgeSpec, parse_specs
from sidebyside.judge.tasks import PlanOptions, Task, build_tasks
from sidebyside.judge.templates import resolve_template

#: Output tokens assumed per answer for the expected (not worst-case) cost of a dry run.
EXPECTED_OUTPUT_TOKENS = 150


class JudgeRunConfig(BaseModel):
    """Everything a judge run needs besides the study."""

    model_config = ConfigDict(extra="forbid")

    judges: list[str] = Field(min_length=1, description="Judge specs, e.g. openai:gpt-4o-mini.")
    mode: JudgeMode = Field(JudgeMode.PAIRWISE, description="What the judge is asked.")
    reference: bool = Field(
        False, description="Show the prompt's reference answer when it has one."
    )
    concurrency: int = Field(16, ge=1, le=1024, description="Requests in flight per provider.")
    max_cost: float | None = Field(None, ge=0, description="USD budget of this run.")
    base_url: str | None = Field(None, description="Server for judges without @URL that share it.")
    timeout: float = Field(120.0, gt=0, description="Seconds before one request times out.")
    max_retries: int = Field(6, ge=0, le=20, description="Retries per request (429/5xx/timeout).")
    backoff_base: float = Field(0.5, ge=0, description="Seconds; retry n waits ~base*2**n.")
    max_tokens: int = Field(512, ge=16, le=32768, description="Longest judge answer, in tokens.")
    temperature: float = Field(0.0, ge=0, le=2, description="Sampling temperature (0 = greedy).")
    samples: int = Field(
        1,
        description="Answers per order (K); K > 1 gives every judge vote-fraction confidence "
        "and names it JUDGE#kK-tT (judge/sampling.py). Cost and budget count every answer.",
    )
    template: str | None = Field(
        None,
        description="Prompt template: a bundled name or a template file (default per mode). "
        "A non-default template names the judges JUDGE#LABEL, so their verdicts stay apart.",
    )
    prices_file: str | None = Field(None, description="Extra price table (JSON) for this run.")
    batch: bool = Field(
        False,
        description="Send API judges' calls through the provider's batch API (batch price; "
        "results within 24 h); other judges run live.",
    )
    poll_s: float = Field(60.0, gt=0, description="Seconds between polls of running batches.")
    wait: bool = Field(True, description="Wait for running batches to end (else poll once).")
    batch_max_requests: int | None = Field(
        None, ge=1, description="Split batches at this many requests (default: the provider's)."
    )

    @field_validator("mode", mode="before")
    @classmethod
    def _run_mode(cls, mode: object) -> object:
        # Not every JudgeMode: "imported" names verdicts made elsewhere.
        if mode not in RUN_MODES:
            raise ValueError(f"mode must be one of {', '.join(RUN_MODES)}, got {mode!r}")
        return mode

    @field_validator("samples", mode="before")
    @classmethod
    def _samples(cls, samples: object) -> object:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(
                f"--samples must be a whole number of at least 1 (answers per order), "
                f"got {samples!r}"
            )
        return samples

    def specs(self) -> list[JudgeSpec]:
        specs = parse_specs(self.judges, base_url=self.base_url)
        label = resolve_template(self.template, self.mode).label
        specs = [
            s.with_variant(sampled_label(label, self.samples, self.temperature)) for s in specs
        ]
        if self.mode == JudgeMode.SINGLE:
            baselines = [s.name for s in specs if s.is_baseline]
            if baselines:
                raise SpecError(
                    f"{', '.join(baselines)} judge pairs only; use --mode pairwise for baselines"
                )
        return specs

    def plan_options(self) -> PlanOptions:
        return PlanOptions(
            mode=self.mode,
            reference=self.reference,
            template=self.template,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            samples=self.samples,
        )


@dataclass
class JudgeEstimate:
    judge: str
    calls: int
    cached: int
    to_send: int
    input_tokens: int
    cost: float | None
    worst_cost: float | None


@dataclass
class JudgeSummary:
    """One judge on one study after a run: stored state plus what this run did."""

    judge: str
    verdicts: Counter = field(default_factory=Counter)
    inconsistent: int = 0
    judgments: int = 0
    unparsed: int = 0
    errors: int = 0
    sent: int = 0
    cached: int = 0
    retries: int = 0
    skipped: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = 0.0
    wall_s: float = 0.0
    stopped: str | None = None
    error_messages: list[str] = field(default_factory=list)

    @property
    def n_verdicts(self) -> int:
        return sum(self.verdicts.values())

    @property
    def inconsistent_rate(self) -> float | None:
        return self.inconsistent / self.n_verdicts if self.n_verdicts else None


@dataclass
class RunSummary:
    study: str
    mode: JudgeMode
    judges: list[JudgeSummary]
    cost: float
    budget_stopped: bool
    wall_s: float
    reference_used: bool


def build_judges(specs: list[JudgeSpec], config: JudgeRunConfig) -> dict[str, Judge]:
    """Build every judge before any work: a missing SDK or key raises ConfigError."""
    judges: dict[str, Judge] = {}
    for spec in specs:
        judges[spec.name] = load_judge(
            spec,
            timeout=config.timeout,
            batch_size=config.concurrency,
            max_new_tokens=config.max_tokens,
        )
    return judges


def plan(session: Session, study: Study, config: JudgeRunConfig) -> list[Task]:
    return build_tasks(session, study=study, specs=config.specs(), options=config.plan_options())


def estimate(engine: Engine, study_ref: str | int, config: JudgeRunConfig) -> list[JudgeEstimate]:
    """What a run would send and cost (nothing is sent or written). Cost None = price unknown."""
    prices = Prices.load(config.prices_file)
    with Session(engine) as session:
        study = get_study(session, study_ref)
        tasks = plan(session, study, config)
        cache_plan = cache.plan(session, tasks)
    send_keys: dict[str, dict[str, Task]] = {}
    for task in cache_plan.send:
        send_keys.setdefault(task.judge, {}).setdefault(task.cache_key, task)
    result = []
    for spec in config.specs():
        calls = sum(1 for t in tasks if t.judge == spec.name)
        unique = list(send_keys.get(spec.name, {}).values())
        tokens = sum(estimate_tokens(m["content"]) + 4 for t in unique for m in t.request.messages)
        if config.batch and supports_batch(spec.provider):
            price = prices.batch(spec.provider, spec.model, resolve_base_url(spec))
        else:
            price = prices.lookup(spec.provider, spec.model, resolve_base_url(spec))
        cost = worst = None
        if price is not None:
            cost = (
                tokens * price.input + len(unique) * EXPECTED_OUTPUT_TOKENS * price.output
            ) / 1e6
            worst = (tokens * price.input + len(unique) * config.max_tokens * price.output) / 1e6
        result.append(
            JudgeEstimate(
                judge=spec.name,
                calls=calls,
                cached=calls - sum(1 for t in cache_plan.send if t.judge == spec.name),
                to_send=len(unique),
                input_tokens=tokens,
                cost=cost,
                worst_cost=worst,
            )
        )
    return result


def finish(engine: Engine, study_id: int, specs: list[JudgeSpec], mode: JudgeMode) -> None:
    """Reconcile each judge's verdicts and the ensemble of the non-baseline judges."""
    with unit_of_work(engine) as session:
        for spec in specs:
            reconcile(session, study_id=study_id, judge=spec.name, mode=mode)
        members = [s.name for s in specs if not s.is_baseline]
        if len(members) >= 2:
            session.flush()
            ensemble(
                session, study_id=study_id, judges=members, mode=mode, name=ensemble_name(specs)
            )


def ensemble_name(specs: list[JudgeSpec]) -> str:
    """``ensemble``, or ``ensemble#LABEL`` when the judges were asked with another template
    (the ensemble of the default prompt is kept)."""
    label = next((s.variant for s in specs if s.variant), None)
    return f"{ENSEMBLE}#{label}" if label else ENSEMBLE


def summarize(
    session: Session,
    *,
    study_id: int,
    judges: list[str],
    mode: JudgeMode,
    result: RunResult | None = None,
) -> list[JudgeSummary]:
    """Per judge: stored verdict counts, inconsistency, unparsed and failed judgments, plus the
    run's requests, tokens, cost and wall time."""
    summaries = []
    for name in judges:
        s = JudgeSummary(judge=name)
        for winner, inconsistent, n in session.exec(
            select(JudgeVerdict.winner, JudgeVerdict.inconsistent, func.count())
            .where(
                JudgeVerdict.study_id == study_id,
                JudgeVerdict.judge == name,
                JudgeVerdict.mode == mode,
            )
            .group_by(JudgeVerdict.winner, JudgeVerdict.inconsistent)
        ).all():
            s.verdicts[winner] += n
            s.inconsistent += n if inconsistent else 0
        for status, n in session.exec(
            select(Judgment.status, func.count())
            .where(Judgment.study_id == study_id, Judgment.judge == name, Judgment.mode == mode)
            .group_by(Judgment.status)
        ).all():
            s.judgments += n
            s.unparsed += n if status == JudgmentStatus.UNPARSED else 0
            s.errors += n if status == JudgmentStatus.ERROR else 0
        stats = result.stats.get(name) if result else None
        if stats is not None:
            s.sent, s.cached, s.retries = stats.sent, stats.stored + stats.copied, stats.retries
            s.skipped, s.stopped = stats.skipped, stats.stopped
            s.input_tokens, s.output_tokens = stats.input_tokens, stats.output_tokens
            s.cost = None if stats.cost_unknown else stats.cost
            s.wall_s = stats.wall_s
            s.error_messages = [f"{m} (x{n})" for m, n in stats.error_messages.most_common(5)]
        summaries.append(s)
    return summaries


async def run_judges_async(
    engine: Engine,
    study_ref: str | int,
    config: JudgeRunConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    judges: dict[str, Judge] | None = None,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> RunSummary:
    """Run the judges on every pair of a study, then reconcile and summarise.

    Raises before any request: SpecError / InputError (bad config), NotFound (no such
    study), ConfigError (missing SDK or key). ``judges`` injects prebuilt judges and
    ``sleep`` the retry wait (tests record it).
    """
    start = time.monotonic()
    specs = config.specs()
    prices = Prices.load(config.prices_file)
    with Session(engine) as session:
        study = get_study(session, study_ref)
        tasks = plan(session, study, config)
    reference_used = any(t.template_version.endswith("+ref") for t in tasks)
    judges = judges if judges is not None else build_judges(specs, config)
    result = await execute_tasks(
        engine, config, tasks, judges, prices=prices, on_progress=on_progress, sleep=sleep
    )
    await asyncio.to_thread(finish, engine, study.id, specs, config.mode)
    names = [s.name for s in specs]
    if sum(not s.is_baseline for s in specs) >= 2:
        names.append(ensemble_name(specs))
    with Session(engine) as session:
        summaries = summarize(
            session, study_id=study.id, judges=names, mode=config.mode, result=result
        )
    return RunSummary(
        study=study.name,
        mode=config.mode,
        judges=summaries,
        cost=result.cost,
        budget_stopped=result.budget_stopped,
        wall_s=time.monotonic() - start,
        reference_used=reference_used,
    )


async def execute_tasks(
    engine: Engine,
    config: JudgeRunConfig,
    tasks: list[Task],
    judges: dict[str, Judge],
    *,
    prices: Prices,
    on_progress: Callable[[Progress], None] | None = None,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> RunResult:
    """Send ``tasks`` (judge name -> built judge in ``judges``) through the live runner, and
    the API judges' through their batch APIs with ``--batch``, under one budget; every
    result is committed as it arrives. (Probes, judge/probe_run.py, and alignment folds,
    judge/align.py, reuse it with tasks of their own.)"""
    batched = {t.judge for t in tasks if config.batch and supports_batch(t.spec.provider)}
    runner = Runner(
        engine,
        {name: j for name, j in judges.items() if name not in batched},
        prices=prices,
        on_progress=on_progress,
        sleep=sleep or asyncio.sleep,
        options=RunOptions(
            concurrency=config.concurrency,
            max_retries=config.max_retries,
            backoff_base=config.backoff_base,
            max_cost=config.max_cost,
        ),
    )
    result = await runner.run([t for t in tasks if t.judge not in batched])
    if batched:
        # One budget for the run: the batches get what the live judges left.
        left = None if config.max_cost is None else max(0.0, config.max_cost - result.cost)
        batch = await _run_batches(engine, config, prices, judges, tasks, batched, sleep, left)
        result = _merge(result, batch)
    return result


async def _run_batches(engine, config, prices, judges, tasks, batched, sleep, budget):
    limits = {"max_requests": config.batch_max_requests} if config.batch_max_requests else {}
    clients = {name: batch_client(judges[name], **limits) for name in sorted(batched)}
    try:
        batch_runner = BatchRunner(
            engine,
            clients,
            prices=prices,
            max_cost=budget,
            poll_s=config.poll_s,
            wait=config.wait,
            sleep=sleep or asyncio.sleep,
        )
        return await batch_runner.run([t for t in tasks if t.judge in batched])
    finally:
        for name in batched:
            await judges[name].aclose()


def _merge(live: RunResult, batch: RunResult) -> RunResult:
    return RunResult(
        stats=live.stats | batch.stats,
        cost=live.cost + batch.cost,
        budget_stopped=live.budget_stopped or batch.budget_stopped,
        wall_s=live.wall_s + batch.wall_s,
    )


def run_judges(
    engine: Engine,
    study_ref: str | int,
    config: JudgeRunConfig,
    *,
    on_progress: Callable[[Progress], None] | None = None,
) -> RunSummary:
    """Synchronous wrapper of :func:`run_judges_async` (for scripts, the CLI and Streamlit)."""
    return asyncio.run(run_judges_async(engine, study_ref, config, on_progress=on_progress))


def import_judgments(
    engine: Engine, study_ref: str | int, path: str | Path, baseline: str | None = None
) -> ImportSummary:
    """Import a verdict file into a study, all or nothing (ImportJudgmentsError lists problems
    with file and line). ``baseline``: the baseline of an arena-hard v0.1 judgment file."""
    with unit_of_work(engine) as session:
        study = get_study(session, study_ref)
        return import_judgments_file(session, study=study, path=path, baseline=baseline)


def judged(session: Session, study_id: int) -> list[tuple[str, str, int]]:
    """(judge, mode, verdicts) for every judge with verdicts on a study."""
    return list(
        session.exec(
            select(JudgeVerdict.judge, JudgeVerdict.mode, func.count())
            .where(JudgeVerdict.study_id == study_id)
            .group_by(JudgeVerdict.judge, JudgeVerdict.mode)
            .order_by(col(JudgeVerdict.judge))
        ).all()
    )
