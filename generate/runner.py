"""One ``generate`` run: plan what is missing for each model, generate it, store each answer
as it arrives. The runner owns the policy (what to send, what to store, which failures to
report); engines only talk to their model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from sidebyside.foundation.models import Study
from sidebyside.generate.conversations import ConversationItem, ConversationRounds
from sidebyside.generate.engines.base import Description, Engine, Request, Result
from sidebyside.generate.params import DecodingParams, generation_key, sha256_text
from sidebyside.generate.prompts import PromptItem
from sidebyside.generate.specs import ModelSpec
from sidebyside.generate.store import (
    GenerationWriter,
    set_server_model,
    source_row,
    stored_answers,
    stored_keys,
)


@dataclass
class ModelPlan:
    """One model's part of a run: every request, and those not stored yet."""

    spec: ModelSpec
    engine: Engine
    description: Description
    source_id: int
    requests: list[Request]
    missing: list[Request]
    #: Conversations: the model's rounds (turn t after its own turn t-1), else None.
    rounds: ConversationRounds | None = None
    #: Conversations: (conversation, turn) generated in later rounds, after ``missing``.
    later: list[tuple[ConversationItem, int]] = field(default_factory=list)

    @property
    def to_generate(self) -> int:
        """How many answers this run generates for the model (every turn still missing)."""
        return len(self.missing) + len(self.later)


@dataclass
class Failure:
    system: str
    prompt_id: str
    error: str


@dataclass
class RunReport:
    generated: dict[str, int] = field(default_factory=dict)
    cached: dict[str, int] = field(default_factory=dict)
    tokens_out: int = 0
    failures: list[Failure] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{name}: {self.generated.get(name, 0)} generated, {self.cached[name]} already stored"
            for name in self.cached
        ]
        return "; ".join(parts)


def plan_models(
    session: Session,
    *,
    study: Study,
    specs: Sequence[ModelSpec],
    items: Sequence[PromptItem],
    params: DecodingParams,
    make_engine: Callable[[ModelSpec], Engine],
    system_prompt: str | None = None,
    conversations: Sequence[ConversationItem] = (),
) -> list[ModelPlan]:
    """Describe each model (hashes, template; no weights loaded), store its provenance row
    and split its requests into stored and missing. No commit (the caller's unit of work).

    ``conversations`` (instead of ``items``): multi-turn prompts, generated in rounds
    (``generate.conversations``); ``missing`` is then the first turn not stored of each."""
    plans = []
    planned: set[str] = set()  # two systems with the same source share their answers
    answers: dict[str, str] = {}  # conversations: cache key -> stored or generated text
    sp_sha = sha256_text(system_prompt) if system_prompt else None
    for spec in specs:
        engine = make_engine(spec)
        description = engine.describe()
        row = source_row(
            session,
            study=study,
            spec=spec,
            description=description,
            params=params,
            system_prompt_sha256=sp_sha,
        )
        if conversations:
            rounds = ConversationRounds(row.fingerprint, conversations, answers, planned)

            def stored(keys: list[str]) -> dict[str, str]:
                found = stored_answers(session, study_id=study.id, keys=keys)
                return {k: g.text for k, g in found.items()}

            state = rounds.start(stored)
            plans.append(
                ModelPlan(
                    spec, engine, description, row.id, state.known + state.frontier,
                    state.frontier, rounds, state.later,
                )
            )  # fmt: skip
            continue
        requests = [
            Request(generation_key(row.fingerprint, item.messages), item.prompt_id, item.messages)
            for item in items
        ]
        have = stored_keys(session, study_id=study.id, keys=[r.key for r in requests])
        missing = [r for r in requests if r.key not in have and r.key not in planned]
        planned |= {r.key for r in missing}
        plans.append(ModelPlan(spec, engine, description, row.id, requests, missing))
    return plans


def run_plans(
    db: DbEngine,
    *,
    study_id: int,
    plans: Sequence[ModelPlan],
    on_result: Callable[[ModelPlan, Result], None] | None = None,
) -> RunReport:
    """Generate every missing answer, model after model (one model in memory at a time),
    committing each as it arrives. A failed prompt is reported, not stored: a rerun retries
    it. An engine's own error (a model that cannot load) propagates; what was stored stays.
    A conversation model runs round after round (its model stays loaded): each round sends
    the turns its last round's answers made possible."""
    report = RunReport()
    for plan in plans:
        name = plan.spec.name
        report.cached[name] = len(plan.requests) - len(plan.missing)
        report.generated[name] = 0
        writer = GenerationWriter(db, study_id=study_id, source_id=plan.source_id)
        server_model: list[str] = []

        def store(result: Result, plan: ModelPlan = plan, writer=writer, seen=server_model):
            if plan.rounds is not None:
                plan.rounds.record(result)
            if result.error is not None:
                report.failures.append(Failure(plan.spec.name, result.prompt_id, result.error))
            else:
                writer.write(result)
                if result.model_id and not seen:
                    seen.append(result.model_id)
                    set_server_model(db, source_id=plan.source_id, model_id=result.model_id)
            if on_result is not None:
                on_result(plan, result)

        try:
            batch = plan.missing
            while True:
                if batch:
                    plan.engine.generate(batch, store)
                batch = plan.rounds.next_round() if plan.rounds is not None else []
                if not batch:
                    break
        finally:
            plan.engine.close()
            report.generated[name] = writer.close()  # every queued answer committed
            report.tokens_out += writer.tokens_out
    return report
