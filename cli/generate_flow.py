"""The steps of ``sidebyside generate`` that join the generate feature to the study: the
study (or its new version), the dry run, the progress bar, and the import of the stored
answers as the study's outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import typer
from sqlmodel import Session

from sidebyside.foundation.errors import NotFound
from sidebyside.foundation.models import Study
from sidebyside.generate.engines.base import Result
from sidebyside.generate.prompts import PromptItem
from sidebyside.generate.runner import ModelPlan


def target_study(session: Session, name: str, *, new_version: bool) -> tuple[Study, dict]:
    """The study to generate into (created when missing) and how to record its prompt set.
    ``--new-version`` starts ``NAME-vN``: the next version, with the study's settings."""
    from sidebyside.annotate.studies import create_study
    from sidebyside.foundation.lookup import get_study
    from sidebyside.foundation.prompt_sets import study_version
    from sidebyside.foundation.rubric import Rubric

    try:
        study = get_study(session, name)
    except NotFound:
        if new_version:
            raise
        typer.echo(f"creating study {name!r}", err=True)
        return create_study(session, name=name), {}
    if not new_version:
        return study, {}
    version = study_version(session, study.id) + 1
    head, _, tail = study.name.rpartition("-v")
    root = head if head and tail.isdigit() else study.name
    try:  # the same --new-version run again (a resume): carry on in the version it made
        found = get_study(session, f"{root}-v{version}")
    except NotFound:
        found = None
    if found is not None:
        return found, {}
    created = create_study(
        session,
        name=f"{root}-v{version}",
        rubric=Rubric.model_validate(study.rubric),
        k=study.k,
        seed=study.seed,
        description=study.description,
        allocation=study.allocation,
    )
    session.flush()
    typer.echo(f"new version: study {created.name!r} (eval set v{version})", err=True)
    return created, {"version": version, "parent_study_id": study.id}


def dry_run_lines(plans: Sequence[ModelPlan], max_new_tokens: int) -> list[str]:
    """What a run would do: generations per model, tokens in and (at most) out, and the cost
    of priced APIs (``judge/prices.json``)."""
    from sidebyside.judge.pricing import Prices, format_usd

    prices = Prices.load()
    lines = []
    total = 0
    for plan in plans:
        n = len(plan.missing)
        total += n
        tokens_in = sum(plan.engine.count_tokens(r.messages) for r in plan.missing)
        tokens_out = n * max_new_tokens
        line = (
            f"{plan.spec.name}: {n} to generate ({len(plan.requests) - n} already stored), "
            f"~{tokens_in} tokens in, at most {tokens_out} tokens out"
        )
        if plan.spec.engine == "openai":
            cost = prices.cost(
                "openai", plan.spec.source, plan.spec.base_url, tokens_in, tokens_out
            )
            line += f", at most {format_usd(cost)}" if cost is not None else ", price unknown"
        lines.append(line)
    lines.append(f"total: {total} generations (dry run: nothing generated or stored)")
    return lines


class ProgressBar:
    """A rich progress bar: outputs done, tokens per second, time left."""

    def __init__(self, total: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.tokens = 0
        self.started = time.perf_counter()
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} tok/s"),
            TimeRemainingColumn(),
            console=Console(stderr=True),  # stdout keeps the summary only
            transient=False,
        )
        self.task = self.progress.add_task("generating", total=total, rate="-")

    def __enter__(self) -> ProgressBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, plan: ModelPlan, result: Result) -> None:
        self.tokens += result.tokens_out or 0
        seconds = max(time.perf_counter() - self.started, 1e-9)
        self.progress.update(
            self.task,
            advance=1,
            description=f"generating {plan.spec.name}",
            rate=f"{self.tokens / seconds:.1f}",
        )


def import_generated(
    session: Session,
    *,
    study: Study,
    plans: Sequence[ModelPlan],
    items: Sequence[PromptItem],
    pairing: str,
    baseline: str | None,
) -> Any:
    """Import every stored answer of this run's models as the study's outputs (long format,
    paired as ``import`` pairs); answers imported before are left as they are."""
    from sidebyside.annotate.importing import import_sources
    from sidebyside.generate.store import stored_answers

    by_id = {item.prompt_id: item for item in items}
    lines = []
    for plan in plans:
        answers = stored_answers(session, study_id=study.id, keys=[r.key for r in plan.requests])
        for request in plan.requests:
            answer = answers.get(request.key)
            if answer is None:
                continue
            item = by_id[request.prompt_id]
            record = {
                "prompt_id": item.prompt_id,
                "prompt": item.prompt,
                "system": plan.spec.name,
                "output": answer.text,
            }
            if item.category:
                record["category"] = item.category
            if item.reference:
                record["reference"] = item.reference
            lines.append(json.dumps(record, ensure_ascii=False))
    if not lines:
        return None
    data = ("\n".join(lines) + "\n").encode("utf-8")
    return import_sources(
        session,
        study=study,
        sources=[("generated outputs.jsonl", data)],
        pairing=pairing,
        baseline=baseline,
    )
