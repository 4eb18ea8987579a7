"""``judge-align``: the next version of a judge's prompt, built from the pairs where the judge
and the human majority disagree, and tested without letting any pair judge itself.

1. The judge is run on the study as it is (the normal runner: what is stored is not asked
   again) and compared with the human majority of every rated pair.
2. The rated pairs are split into ``folds`` seeded folds. For each fold, ``shots`` examples
   are chosen among the disagreements of the *other* folds (round-robin over the prompts'
   categories, so one category's errors cannot crowd out another's; seeded), written into a
   fold template, and the fold's pairs are judged with it: cross-fitting, so no pair is ever
   its own example. These verdicts are stored as the judge ``SPEC#LABEL-crossfit``.
3. The next template version, with examples chosen from all disagreements, is written beside
   the original (a bundled template: into ``out_dir``), as ``NAME_vN+1.txt``; its fold
   templates go in ``NAME_vN+1.folds/``. Agreement with the human majority before and after
   on the same pairs, with a paired bootstrap interval and McNemar's exact test
   (analysis/paired_agreement.py), is stored as a :class:`JudgeAlignment` row: the Judges
   page's version history.

An example shows the prompt, both responses in their stored order and the humans' verdict.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sidebyside.analysis.calibration import human_majority
from sidebyside.analysis.paired_agreement import paired_agreement
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.enums import JudgeMode, Preference
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import (
    JudgeAlignment,
    JudgeVerdict,
    Output,
    Pair,
    Prompt,
    Rating,
)
from sidebyside.judge.pricing import Prices
from sidebyside.judge.service import (
    JudgeRunConfig,
    build_judges,
    execute_tasks,
    finish,
    run_judges_async,
)
from sidebyside.judge.specs import JudgeSpec
from sidebyside.judge.tasks import build_tasks
from sidebyside.judge.templates import DEFAULT_TEMPLATES, PROMPTS_DIR, resolve_template

_VERSION = re.compile(r"^(?P<stem>.*?)(?:_v(?P<n>\d+))?$")
_SECTION_LINE = re.compile(r"^(\[(?:system|user|reference)\]\s*)$", re.MULTILINE)
_SHOWN = {Preference.A: "A", Preference.B: "B", Preference.TIE: "tie"}


@dataclass
class AlignResult:
    judge: str
    aligned_judge: str
    template: Path
    version: int
    n: int
    before: float | None
    after: float | None
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    only_before: int
    only_after: int
    #: The examples of the written template: (pair_id, category).
    examples: list[tuple[int, str | None]]
    #: Per fold, the pair ids of its examples.
    fold_examples: list[list[int]]
    cost: float


def next_version_path(base: str | None, out_dir: Path | None) -> tuple[Path, int, str]:
    """Where the next version goes, its number and the text it extends: beside a template
    file of the user's; for a bundled template, in ``out_dir`` (default: the current folder).
    ``NAME_vN`` becomes ``NAME_v(N+1)`` (``NAME`` becomes ``NAME_v2``), skipping taken names."""
    if base is not None and (base.endswith(".txt") or Path(base).expanduser().is_file()):
        source = Path(base).expanduser()
        folder = source.parent if out_dir is None else out_dir
    else:
        source = PROMPTS_DIR / f"{base or DEFAULT_TEMPLATES[JudgeMode.PAIRWISE]}.txt"
        folder = out_dir or Path.cwd()
    match = _VERSION.match(source.stem)
    stem, n = match.group("stem"), int(match.group("n") or 1)
    n += 1
    while (folder / f"{stem}_v{n}.txt").exists():
        n += 1
    return folder / f"{stem}_v{n}.txt", n, source.read_text(encoding="utf-8")


def _escape(text: str) -> str:
    """Untrusted text placed in a template: ``$`` doubled (no placeholder), and a line that
    would open a section indented by one space."""
    return _SECTION_LINE.sub(r" \1", text.replace("$", "$$"))


def examples_block(examples: list[dict]) -> str:
    """The few-shot block appended to the [system] section."""
    parts = [
        "",
        "Examples: pairs that people judged, with the verdict they chose. They are examples "
        "of how to judge; judge the new pair on its own merits in the same way.",
    ]
    for i, ex in enumerate(examples, 1):
        parts += [
            "",
            f"<example_{i}>",
            f"<example_prompt>\n{_escape(ex['prompt'])}\n</example_prompt>",
            f"<example_response_a>\n{_escape(ex['a'])}\n</example_response_a>",
            f"<example_response_b>\n{_escape(ex['b'])}\n</example_response_b>",
            f'Verdict people chose: {{"winner": "{_SHOWN[ex["human"]]}"}}',
            f"</example_{i}>",
        ]
    return "\n".join(parts)


def template_text(original: str, examples: list[dict], note: str) -> str:
    """The original template's text with the examples at the end of its [system] section."""
    match = re.search(r"^\[user\]\s*$", original, re.MULTILINE)
    if match is None:
        raise InputError("the template has no [user] section to put the examples before")
    head, tail = original[: match.start()].rstrip("\n"), original[match.start() :]
    return f"# {note}\n{head}\n{examples_block(examples)}\n{tail}"


def choose(candidates: list[int], categories: dict[int, str | None], k: int, seed: str):
    """Up to ``k`` pairs, round-robin over categories (seeded order within and between)."""
    rng = random.Random(seed)
    by_cat: dict[str, list[int]] = {}
    for p in sorted(candidates):
        by_cat.setdefault(categories.get(p) or "", []).append(p)
    for items in by_cat.values():
        rng.shuffle(items)
    order = sorted(by_cat, key=lambda c: (-len(by_cat[c]), c))
    chosen: list[int] = []
    while len(chosen) < k and any(by_cat.values()):
        for c in order:
            if by_cat[c] and len(chosen) < k:
                chosen.append(by_cat[c].pop())
    return chosen


def _human_majority(session: Session, study_id: int) -> dict[int, str]:
    rows = session.exec(
        select(Rating.pair_id, Rating.preference).where(Rating.study_id == study_id)
    ).all()
    if not rows:
        return {}
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["pair_id", "preference"])
    return {int(k): str(v) for k, v in human_majority(frame).items()}


def _verdicts(session: Session, study_id: int, judge: str) -> dict[int, str]:
    return dict(
        session.exec(
            select(JudgeVerdict.pair_id, JudgeVerdict.winner).where(
                JudgeVerdict.study_id == study_id,
                JudgeVerdict.judge == judge,
                JudgeVerdict.mode == JudgeMode.PAIRWISE,
            )
        ).all()
    )


async def align_async(
    engine: Engine,
    study_ref: str | int,
    config: JudgeRunConfig,
    *,
    shots: int = 5,
    folds: int = 5,
    seed: int = 0,
    out_dir: Path | None = None,
    n_boot: int = 2000,
) -> AlignResult:
    """One round of alignment (see the module docstring); ``InputError`` before anything is
    sent or written for a study without human ratings, a baseline, several judges, too few
    pairs, or a judge that agrees with the humans everywhere."""
    if shots < 1 or folds < 2:
        raise InputError(f"--shots must be at least 1 and --folds at least 2, got {shots}, {folds}")
    if config.mode != JudgeMode.PAIRWISE or config.samples != 1:
        raise InputError("judge-align aligns a pairwise judge asked once (no --samples)")
    specs = config.specs()
    if len(specs) != 1:
        raise InputError(f"judge-align aligns one judge at a time, got {len(specs)}")
    (spec,) = specs
    if spec.is_baseline:
        raise InputError(f"{spec.name} reads no prompt: judge-align improves a judge's prompt")
    with Session(engine) as session:
        study = get_study(session, study_ref)
        majority = _human_majority(session, study.id)
    if not majority:
        raise InputError(
            f"study {study.name!r} has no human ratings: judge-align compares the judge with "
            "the human majority; collect ratings first (sidebyside import-ratings, or the "
            "Annotate page)"
        )
    target, version, original = next_version_path(config.template, out_dir)
    summary = await run_judges_async(engine, study.id, config)  # cached where stored
    cost = summary.cost
    with Session(engine) as session:
        before = _verdicts(session, study.id, spec.name)
        pairs = sorted(p for p in majority if p in before)
        rows = session.exec(select(Pair).where(Pair.study_id == study.id)).all()
        prompts = {p.id: p for p in session.exec(select(Prompt).where(Prompt.study_id == study.id))}
        texts = dict(
            session.exec(
                select(Output.id, Output.text).join(Prompt).where(Prompt.study_id == study.id)
            ).all()
        )
    if len(pairs) < folds:
        raise InputError(
            f"judge-align needs at least {folds} pairs with human ratings and a verdict of "
            f"{spec.name} (one per fold); found {len(pairs)}"
        )
    pair_rows = {p.id: p for p in rows}
    category = {p: prompts[pair_rows[p].prompt_id].category for p in pairs}
    wrong = [p for p in pairs if before[p] != majority[p]]
    if not wrong:
        raise InputError(
            f"{spec.name} agrees with the human majority on all {len(pairs)} pairs: there is "
            "no disagreement to learn from"
        )

    def example(p: int) -> dict:
        row = pair_rows[p]
        return {
            "prompt": prompts[row.prompt_id].text,
            "a": texts[row.output_a_id],
            "b": texts[row.output_b_id],
            "human": majority[p],
        }

    order = list(pairs)
    random.Random(f"{seed}|folds").shuffle(order)
    fold_of = {p: i % folds for i, p in enumerate(order)}
    label = re.sub(r"[^A-Za-z0-9_.-]+", "-", target.stem)[:30]
    named = JudgeSpec(spec.provider, spec.model, spec.base_url, f"{label}-crossfit")
    fold_dir = target.with_suffix(".folds")
    chosen_all = choose(wrong, category, shots, f"{seed}|all")
    fold_examples = [
        choose([p for p in wrong if fold_of[p] != f], category, shots, f"{seed}|{f}")
        for f in range(folds)
    ]
    note = (
        f"written by sidebyside judge-align from {config.template or 'the default template'} "
        f"on study {study.name!r}: {len(chosen_all)} examples where {spec.name} and the human "
        "majority disagreed"
    )
    fold_dir.mkdir(parents=True, exist_ok=True)
    fold_files = []
    for f, chosen in enumerate(fold_examples):
        path = fold_dir / f"fold{f + 1}.txt"
        path.write_text(template_text(original, [example(p) for p in chosen], note), "utf-8")
        fold_files.append(path)
    target.write_text(template_text(original, [example(p) for p in chosen_all], note), "utf-8")
    tasks = []
    with Session(engine) as session:
        for f, path in enumerate(fold_files):
            resolve_template(str(path), JudgeMode.PAIRWISE)  # a malformed file fails here
            held_out = {
                p: (texts[pair_rows[p].output_a_id], texts[pair_rows[p].output_b_id])
                for p in pairs
                if fold_of[p] == f
            }
            if not held_out:
                continue
            tasks += build_tasks(
                session,
                study=study,
                specs=[named],
                options=replace(config.plan_options(), template=str(path)),
                texts=held_out,
                store_mode=JudgeMode.PAIRWISE,
            )
    built = build_judges([spec], config)
    result = await execute_tasks(
        engine,
        config,
        tasks,
        {named.name: built[spec.name]},
        prices=Prices.load(config.prices_file),
    )
    cost += result.cost
    finish(engine, study.id, [named], JudgeMode.PAIRWISE)
    with Session(engine) as session:
        after = _verdicts(session, study.id, named.name)
    both = [p for p in pairs if p in after]
    stats = paired_agreement(
        np.array([before[p] == majority[p] for p in both], dtype=bool),
        np.array([after[p] == majority[p] for p in both], dtype=bool),
        n_boot=n_boot,
        seed=seed,
    )
    shots_stored = [
        {
            "fold": f + 1,
            "examples": [
                {"pair_id": p, "category": category[p], "human": majority[p], "judge": before[p]}
                for p in chosen
            ],
        }
        for f, chosen in enumerate(fold_examples)
    ]
    with unit_of_work(engine) as session:
        session.add(
            JudgeAlignment(
                study_id=study.id,
                judge=spec.name,
                aligned_judge=named.name,
                base_template=str(config.template or DEFAULT_TEMPLATES[JudgeMode.PAIRWISE]),
                template=str(target),
                version=version,
                folds=folds,
                shots=shots_stored,
                n=stats["n"],
                agreement_before=stats["before"],
                agreement_after=stats["after"],
                diff_low=stats["ci_low"],
                diff_high=stats["ci_high"],
                mcnemar_p=stats["p_value"],
            )
        )
    return AlignResult(
        judge=spec.name,
        aligned_judge=named.name,
        template=target,
        version=version,
        n=stats["n"],
        before=stats["before"],
        after=stats["after"],
        difference=stats["difference"],
        ci_low=stats["ci_low"],
        ci_high=stats["ci_high"],
        p_value=stats["p_value"],
        only_before=stats["only_before"],
        only_after=stats["only_after"],
        examples=[(p, category[p]) for p in chosen_all],
        fold_examples=fold_examples,
        cost=cost,
    )
