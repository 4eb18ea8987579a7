"""A study + judge specs -> the list of judge calls to make (one :class:`Task` per order, or
per scored response in single mode), each with its rendered messages and cache key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Row
from sqlmodel import Session, select

from sidebyside.foundation.conversation import pair_histories
from sidebyside.foundation.enums import RUN_MODES, JudgeMode, JudgmentKey, Order
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Output, Pair, Prompt, Study
from sidebyside.foundation.rubric import Rubric, rubric_of
from sidebyside.judge.multiturn import conversation_calls, multiturn_template
from sidebyside.judge.parsing import Parsed, parse_pairwise, parse_single
from sidebyside.judge.parsing_graded import is_graded_template, parse_graded
from sidebyside.judge.providers import resolve_base_url
from sidebyside.judge.providers.base import JudgeRequest
from sidebyside.judge.sampling import check_samples, sampled_label
from sidebyside.judge.specs import JudgeSpec
from sidebyside.judge.templates import (
    PromptTemplate,
    render_pairwise,
    render_single,
    resolve_template,
    uses_conversations,
)

PAIRWISE_ORDERS = (Order.AB, Order.BA)
SINGLE_SIDES = (Order.A, Order.B)


def cache_key(
    *,
    provider: str,
    model: str,
    base_url: str | None,
    messages: Iterable[dict[str, str]],
    sampling: dict[str, object],
    template_version: str,
) -> str:
    """sha256 of everything that changes the answer and nothing that does not (timeouts,
    concurrency and the study or pair ids are left out, so equal calls share one answer)."""
    payload = {
        "provider": provider,
        "model": model,
        "base_url": base_url,
        "messages": list(messages),
        "sampling": sampling,
        "template": template_version,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True, eq=False)  # identity: a task is a dict key in the runner
class Task:
    """One judge call: which judge, which pair, which order (or scored side), what to send."""

    spec: JudgeSpec
    study_id: int
    pair_id: int
    mode: JudgeMode
    order: Order
    output_id: int
    request: JudgeRequest
    cache_key: str
    template_version: str
    criteria: tuple[str, ...] = ()
    scale: tuple[int, int] = (1, 5)
    #: Which of the K answers of a sampled judge (judge/sampling.py); 0 when asked once.
    sample: int = 0
    #: Stored in the ``scores`` column of a probe's judgment (what was perturbed, and how).
    meta: Mapping[str, Any] | None = None

    @property
    def judge(self) -> str:
        return self.spec.name

    @property
    def slot(self) -> JudgmentKey:
        """The Judgment row's unique key: one stored answer per judge, mode, pair, order and
        sample."""
        return JudgmentKey(
            self.judge, self.mode, self.pair_id, self.order, self.output_id, self.sample
        )

    def parse(self, text: str) -> Parsed:
        if self.mode == JudgeMode.SINGLE:
            return parse_single(text, criteria=list(self.criteria), scale=self.scale)
        if is_graded_template(self.template_version):  # [[A>>B]] .. [[B>>A]]
            return parse_graded(text)
        return parse_pairwise(text)


@dataclass(frozen=True)
class PlanOptions:
    """How to ask. Every field here changes the answer, so it is in the cache key."""

    mode: JudgeMode = JudgeMode.PAIRWISE
    reference: bool = False
    template: str | None = None
    temperature: float = 0.0
    max_tokens: int = 512
    #: Answers per order (``--samples``); each is a task of its own, its index in the key.
    samples: int = 1


@dataclass(frozen=True)
class _Call:
    """One call to make on a pair, before a judge is chosen: the order (or the scored side),
    the scored output (0 for pairwise), the texts shown and the rendered messages."""

    order: Order
    output_id: int
    responses: tuple[str, ...]
    messages: list[dict[str, str]]


@dataclass(frozen=True)
class _Plan:
    """What every task of one :func:`build_tasks` shares."""

    study_id: int
    mode: JudgeMode
    template: PromptTemplate
    rubric: Rubric
    options: PlanOptions
    sampling: dict[str, object]
    base_urls: dict[str, str | None]
    criteria: tuple[str, ...]
    #: The mode stored on the judgments (``probe`` for stress probes), and their meta.
    store_mode: JudgeMode = JudgeMode.PAIRWISE
    meta: Mapping[int, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Shown:
    """An output shown with another text than its own (a stress probe's)."""

    id: int
    text: str


def build_tasks(
    session: Session,
    *,
    study: Study,
    specs: list[JudgeSpec],
    options: PlanOptions,
    texts: Mapping[int, tuple[str, str]] | None = None,
    store_mode: JudgeMode | None = None,
    meta: Mapping[int, dict[str, Any]] | None = None,
) -> list[Task]:
    """Every call the judges need on the study's pairs, ordered pair by pair (both orders of a
    pair next to each other, so a budget stop leaves few half-judged pairs).

    ``texts``: only these pairs, their output_a / output_b shown as given (stress probes,
    judge/probe_run.py); with ``store_mode`` the judgments are stored in that mode under the
    specs' names as given (no template or sampling label added), each with ``meta[pair_id]``
    in its ``scores`` column."""
    if options.mode not in RUN_MODES:
        raise ValueError(f"mode must be one of {', '.join(RUN_MODES)}, got {options.mode!r}")
    mode = JudgeMode(options.mode)
    check_samples(options.samples, options.temperature)
    if options.samples > 1 and mode != JudgeMode.PAIRWISE:
        raise InputError(
            f"--samples {options.samples} applies to pairwise judging (vote fractions of "
            "A / B / tie); use --mode pairwise, or --samples 1 for single scores"
        )
    template = resolve_template(options.template, mode)
    label = sampled_label(template.label, options.samples, options.temperature)
    if store_mode is None:
        specs = [s.with_variant(label) for s in specs]
    rubric = rubric_of(study)
    plan = _Plan(
        study_id=study.id,
        mode=mode,
        template=template,
        rubric=rubric,
        options=options,
        sampling=JudgeRequest(
            messages=(), temperature=options.temperature, max_tokens=options.max_tokens
        ).sampling(),
        base_urls={s.name: resolve_base_url(s) for s in specs},
        criteria=tuple(rubric.names),
        store_mode=store_mode or mode,
        meta=meta or {},
    )
    pairs, prompts, outputs = _study_rows(session, study.id)
    # A conversation's later turns: both whole conversations (judge/multiturn.py).
    histories = {
        p: h for p, h in pair_histories(session, study_id=study.id).items() if h.has_context
    }
    every = mode == JudgeMode.PAIRWISE and uses_conversations(template)
    later = multiturn_template(template, options.template, mode) if histories or every else None
    tasks: list[Task] = []
    for pair in pairs:
        if texts is not None and pair.id not in texts:
            continue
        prompt = prompts[pair.prompt_id]
        reference = prompt.reference if options.reference and prompt.reference else None
        out_a, out_b = outputs[pair.output_a_id], outputs[pair.output_b_id]
        if texts is not None:
            out_a, out_b = (_Shown(o.id, t) for o, t in zip((out_a, out_b), texts[pair.id],
                                                             strict=True))  # fmt: skip
        if later is not None and (every or pair.id in histories):
            calls = [
                _Call(*call)
                for call in conversation_calls(
                    later,
                    mode=mode,
                    rubric=rubric,
                    history=histories.get(pair.id),
                    user=prompt.text,
                    answers=((out_a.id, out_a.text), (out_b.id, out_b.text)),
                    reference=reference,
                )
            ]
            version = later.version(reference is not None)
        else:
            calls = _calls(plan, prompt.text, out_a, out_b, reference)
            version = plan.template.version(reference is not None)
        tasks += [
            _task(plan, spec, pair.id, call, version, sample, prompt.text)
            for spec in specs
            for call in calls
            # A baseline answers the same every time: asked once, whatever K.
            for sample in range(1 if spec.is_baseline else options.samples)
        ]
    return tasks


def _study_rows(
    session: Session, study_id: int
) -> tuple[list[Row], dict[int, Row], dict[int, Row]]:
    """The study's pairs (in id order), prompts and outputs by id.

    Plain rows of the needed columns, not ORM objects: a cached rerun of a large study is
    mostly this planning, and building 10k+ instances cost a third of it."""
    pairs = session.exec(
        select(Pair.id, Pair.prompt_id, Pair.output_a_id, Pair.output_b_id)
        .where(Pair.study_id == study_id)
        .order_by(Pair.id)
    ).all()
    prompt_rows = session.exec(
        select(Prompt.id, Prompt.text, Prompt.reference).where(Prompt.study_id == study_id)
    ).all()
    output_rows = session.exec(
        select(Output.id, Output.text).join(Prompt).where(Prompt.study_id == study_id)
    ).all()
    return list(pairs), {p.id: p for p in prompt_rows}, {o.id: o for o in output_rows}


def _calls(plan: _Plan, prompt: str, out_a: Row, out_b: Row, reference: str | None) -> list[_Call]:
    """Both orders of a pair (pairwise), or each output scored alone (single)."""
    if plan.mode == JudgeMode.PAIRWISE:
        calls = []
        for order in PAIRWISE_ORDERS:
            first, second = (out_a, out_b) if order == Order.AB else (out_b, out_a)
            messages = render_pairwise(
                plan.template,
                rubric=plan.rubric,
                prompt=prompt,
                response_a=first.text,
                response_b=second.text,
                reference=reference,
            )
            calls.append(_Call(order, 0, (first.text, second.text), messages))
        return calls
    return [
        _Call(
            side,
            out.id,
            (out.text,),
            render_single(
                plan.template,
                rubric=plan.rubric,
                prompt=prompt,
                response=out.text,
                reference=reference,
            ),
        )
        for side, out in zip(SINGLE_SIDES, (out_a, out_b), strict=True)
    ]


def _task(
    plan: _Plan,
    spec: JudgeSpec,
    pair_id: int,
    call: _Call,
    version: str,
    sample: int = 0,
    prompt: str = "",
) -> Task:
    """The call asked of one judge (its ``sample``-th answer), with its request and cache key.
    A sampled judge's keys carry the sample index and K, so its K answers are K calls (and
    none is copied from the same model asked once)."""
    options = plan.options
    sampling = plan.sampling
    if options.samples > 1 and not spec.is_baseline:
        sampling = sampling | {"samples": options.samples, "sample": sample}
    key = cache_key(
        provider=spec.provider,
        model=spec.model,
        base_url=plan.base_urls[spec.name],
        messages=call.messages,
        sampling=sampling,
        template_version=version,
    )
    request = JudgeRequest(
        messages=tuple(call.messages),
        mode=plan.mode,
        responses=call.responses,
        temperature=options.temperature,
        max_tokens=options.max_tokens,
        key=key,
        prompt=prompt,
    )
    return Task(
        spec=spec,
        study_id=plan.study_id,
        pair_id=pair_id,
        mode=plan.store_mode,
        order=call.order,
        output_id=call.output_id,
        request=request,
        cache_key=key,
        template_version=version,
        criteria=plan.criteria,
        scale=(plan.rubric.scale_min, plan.rubric.scale_max),
        sample=sample,
        meta=plan.meta.get(pair_id),
    )
