"""The steps of ``sidebyside generate`` that join the generate feature to the study: the
prompt file (single-turn, or conversations read by ``annotate.conversations``), the study (or
its new version), the dry run, the progress bar, and the import of the stored answers as the
study's outputs."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from sqlmodel import Session

from sidebyside.annotate.conversations import (
    Conversation,
    is_conversation_file,
    parse_prompt_sources,
    turn_prompt_id,
)
from sidebyside.foundation.errors import FileInputError, NotFound
from sidebyside.foundation.models import Study
from sidebyside.generate.conversations import ConversationItem
from sidebyside.generate.engines.base import Result
from sidebyside.generate.prompts import PromptItem, parse_prompts
from sidebyside.generate.runner import ModelPlan


@dataclass
class PromptFile:
    """A ``--prompts`` file: single-turn ``items``, or ``conversations`` (MT-Bench's
    question.jsonl, ``messages`` records), and the texts of its prompt rows by prompt id."""

    items: list[PromptItem] = field(default_factory=list)
    conversations: list[ConversationItem] = field(default_factory=list)
    #: The parsed conversations (references, categories), for the import.
    parsed: dict[str, Conversation] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)


def read_prompt_file(path: Path, *, system_prompt: str | None) -> PromptFile:
    """Read ``--prompts``: a conversation file goes through the import's own parser (the same
    located errors), anything else through ``generate.prompts``. ``--system-prompt`` becomes
    the system message of conversations that have none; one that has its own is refused."""
    if not path.is_file():
        raise FileInputError(str(path), "no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileInputError(str(path), f"cannot read the file: {exc.strerror}") from None
    if not is_conversation_file(str(path), data):
        items = parse_prompts(str(path), data, system_prompt=system_prompt)
        return PromptFile(items=items, texts={i.prompt_id: i.prompt for i in items})
    parsed = parse_prompt_sources([(str(path), data)])
    out = PromptFile(parsed=parsed)
    for conv in parsed.values():
        if conv.system and system_prompt:
            raise conv.loc.error(
                f"conversation {conv.id!r} has its own system message: --system-prompt "
                "would replace it (drop one of them)",
                "messages",
            )
        ids = tuple(turn_prompt_id(conv.id, t) for t in range(1, len(conv.turns) + 1))
        out.conversations.append(
            ConversationItem(conv.id, conv.turns, ids, conv.system or system_prompt)
        )
        out.texts.update(zip(ids, conv.turns, strict=True))
    return out


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
    from sidebyside.generate.conversations import turn_messages
    from sidebyside.judge.pricing import Prices, format_usd

    prices = Prices.load()
    lines = []
    total = 0
    for plan in plans:
        n = plan.to_generate
        total += n
        tokens_in = sum(plan.engine.count_tokens(r.messages) for r in plan.missing)
        for item, turn in plan.later:  # a later turn holds the model's earlier answers:
            blank = turn_messages(item, [""] * (turn - 1))  # at most max_new_tokens each
            tokens_in += plan.engine.count_tokens(blank) + (turn - 1) * max_new_tokens
        tokens_out = n * max_new_tokens
        stored = len(plan.requests) - len(plan.missing)
        line = (
            f"{plan.spec.name}: {n} to generate ({stored} already stored), "
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
    prompts: PromptFile,
    pairing: str,
    baseline: str | None,
) -> Any:
    """Import every stored answer of this run's models as the study's outputs (long format,
    paired as ``import`` pairs); answers imported before are left as they are."""
    from sidebyside.annotate.importing import import_sources
    from sidebyside.generate.store import stored_answers

    if prompts.conversations:
        return _import_conversations(
            session, study=study, plans=plans, prompts=prompts, pairing=pairing, baseline=baseline
        )
    by_id = {item.prompt_id: item for item in prompts.items}
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


def _import_conversations(
    session: Session,
    *,
    study: Study,
    plans: Sequence[ModelPlan],
    prompts: PromptFile,
    pairing: str,
    baseline: str | None,
) -> Any:
    """Import each model's fully answered conversations as ``import --prompts`` imports
    MT-Bench's files (rows ``ID#t``, pairs per turn with each system's own history): the
    conversations as ``messages`` prompt records, the answers in MT-Bench's answer format. A
    conversation with a turn still missing waits for the rerun that completes it."""
    from sidebyside.annotate.importing import import_sources
    from sidebyside.generate.conversations import walk
    from sidebyside.generate.store import stored_answers

    def stored(keys: list[str]) -> dict[str, str]:
        return {k: g.text for k, g in stored_answers(session, study_id=study.id, keys=keys).items()}

    answers = []
    for plan in plans:
        assert plan.rounds is not None  # a conversation run plans rounds for every model
        done = walk(plan.rounds.fingerprint, prompts.conversations, stored).done
        for item in prompts.conversations:
            if item.conversation in done:
                record = {
                    "question_id": item.conversation,
                    "model_id": plan.spec.name,
                    "choices": [{"index": 0, "turns": done[item.conversation]}],
                }
                answers.append(json.dumps(record, ensure_ascii=False))
    if not answers:
        return None
    questions = []
    for item in prompts.conversations:
        conv = prompts.parsed[item.conversation]
        system = [{"role": "system", "content": item.system}] if item.system else []
        record: dict[str, Any] = {
            "prompt_id": item.conversation,
            "messages": system + [{"role": "user", "content": u} for u in item.turns],
        }
        if conv.references:
            record["reference"] = list(conv.references)
        if conv.category:
            record["category"] = conv.category
        questions.append(json.dumps(record, ensure_ascii=False))
    return import_sources(
        session,
        study=study,
        sources=[("generated answers.jsonl", ("\n".join(answers) + "\n").encode("utf-8"))],
        prompts=[("prompts.jsonl", ("\n".join(questions) + "\n").encode("utf-8"))],
        pairing=pairing,
        baseline=baseline,
    )
