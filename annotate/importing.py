"""Import files into a study, all or nothing.

Every file is parsed and checked against the database before a single row is written; any
problem raises ``ImportValidationError`` and the database is left exactly as it was.
Re-importing the same file changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from sqlmodel import Session, select

from annotate.sources import (
    ImportValidationError,
    OutputRecord,
    PairRecord,
    ParsedFile,
    parse_source,
)
from foundation.models import Output, Pair, Prompt, Study, System

__all__ = ["ImportReport", "ImportValidationError", "import_paths", "import_sources"]

PAIRINGS = ("all", "baseline")


@dataclass
class ImportReport:
    """What an import added; ``unchanged`` counts outputs that were already there."""

    files: list[tuple[str, str]] = field(default_factory=list)  # (file, format)
    systems_added: int = 0
    prompts_added: int = 0
    outputs_added: int = 0
    pairs_added: int = 0
    unchanged: int = 0
    empty_outputs: int = 0
    #: Prompts that already existed and got their category from this import.
    categories_added: int = 0

    def summary(self) -> str:
        text = (
            f"{self.systems_added} systems, {self.prompts_added} prompts, "
            f"{self.outputs_added} outputs and {self.pairs_added} pairs added"
        )
        if self.unchanged:
            text += f"; {self.unchanged} outputs were already imported"
        if self.empty_outputs:
            text += f"; {self.empty_outputs} outputs are empty (they can still be rated)"
        if self.categories_added:
            text += f"; {self.categories_added} existing prompts got a category"
        return text


def import_paths(
    session: Session,
    *,
    study: Study,
    paths: Sequence[str | Path],
    pairing: str = "all",
    baseline: str | None = None,
) -> ImportReport:
    """Read files from disk and import them (see ``import_sources``)."""
    sources = []
    for path in paths:
        path = Path(path)
        try:
            sources.append((str(path), path.read_bytes()))
        except OSError as exc:
            raise ImportValidationError(
                str(path), f"cannot read the file: {exc.strerror}"
            ) from None
    return import_sources(session, study=study, sources=sources, pairing=pairing, baseline=baseline)


def import_sources(
    session: Session,
    *,
    study: Study,
    sources: Sequence[tuple[str, bytes]],
    pairing: str = "all",
    baseline: str | None = None,
) -> ImportReport:
    """Import (file name, bytes) sources into ``study``, all or nothing: the writes run in a
    savepoint, so an error leaves the caller's transaction as it was (the caller commits).

    ``pairing`` applies to long and alpaca_eval files: "all" pairs every two systems on a
    prompt, "baseline" pairs each system only with ``baseline``. Pairs-format files are
    imported exactly as given.
    """
    if pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    if pairing == "baseline" and not baseline:
        raise ValueError("pairing 'baseline' needs the name of the baseline system")
    if not sources:
        raise ValueError("no files to import")
    parsed = [parse_source(name, data) for name, data in sources]
    _check_across_files(parsed)
    with session.begin_nested():
        return _write(session, study, parsed, pairing, baseline)


def _check_across_files(parsed: list[ParsedFile]) -> None:
    prompts: dict[str, OutputRecord] = {}
    outputs: dict[tuple[str, str], OutputRecord] = {}
    for pf in parsed:
        for rec in pf.outputs:
            first = prompts.setdefault(rec.prompt_id, rec)
            if first.prompt != rec.prompt:
                raise rec.loc.error(
                    f"prompt_id {rec.prompt_id!r} has a different prompt text in "
                    f"{first.loc.file} (line {first.loc.line})",
                    "prompt",
                )
            prev = outputs.setdefault((rec.prompt_id, rec.system), rec)
            if prev.loc.file != rec.loc.file and prev.output != rec.output:
                raise rec.loc.error(
                    f"duplicate prompt_id {rec.prompt_id!r} for system {rec.system!r} with a "
                    f"different output in {prev.loc.file} (line {prev.loc.line})",
                    "prompt_id",
                )


def _write(
    session: Session,
    study: Study,
    parsed: list[ParsedFile],
    pairing: str,
    baseline: str | None,
) -> ImportReport:
    report = ImportReport(files=[(pf.name, pf.format) for pf in parsed])
    sid = study.id
    systems = {s.name: s for s in session.exec(select(System).where(System.study_id == sid))}
    prompts = {p.external_id: p for p in session.exec(select(Prompt).where(Prompt.study_id == sid))}
    outputs: dict[tuple[int, int], Output] = {
        (o.prompt_id, o.system_id): o
        for o in session.exec(
            select(Output).join(Prompt, Output.prompt_id == Prompt.id).where(Prompt.study_id == sid)
        )
    }
    if pairing == "baseline":
        names = {r.system for pf in parsed for r in pf.outputs} | set(systems)
        if baseline not in names:
            raise ValueError(
                f"baseline system {baseline!r} is neither in the files nor in the study "
                f"(systems: {', '.join(sorted(names))})"
            )

    touched: dict[int, Prompt] = {}  # prompts of long/alpaca files, to pair afterwards
    created: set[int] = set()  # prompts this import made (a category set on them is no news)
    for pf in parsed:
        for rec in pf.outputs:
            system = systems.get(rec.system)
            if system is None:
                system = System(study_id=sid, name=rec.system)
                session.add(system)
                session.flush()
                systems[rec.system] = system
                report.systems_added += 1
            prompt = prompts.get(rec.prompt_id)
            if prompt is None:
                prompt = Prompt(
                    study_id=sid,
                    external_id=rec.prompt_id,
                    text=rec.prompt,
                    reference=rec.reference,
                    category=rec.category,
                )
                session.add(prompt)
                session.flush()
                prompts[rec.prompt_id] = prompt
                created.add(prompt.id)
                report.prompts_added += 1
            elif prompt.text != rec.prompt:
                raise rec.loc.error(
                    f"prompt_id {rec.prompt_id!r} is already in the study with a different "
                    "prompt text",
                    "prompt",
                )
            else:
                # A later file may add what an earlier one left out, never change it.
                if rec.reference and not prompt.reference:
                    prompt.reference = rec.reference
                    session.add(prompt)
                if rec.category and prompt.category and rec.category != prompt.category:
                    raise rec.loc.error(
                        f"prompt_id {rec.prompt_id!r} is already in the study with category "
                        f"{prompt.category!r}",
                        "category",
                    )
                if rec.category and not prompt.category:
                    prompt.category = rec.category
                    session.add(prompt)
                    report.categories_added += prompt.id not in created
            key = (prompt.id, system.id)
            existing = outputs.get(key)
            if existing is None:
                out = Output(prompt_id=prompt.id, system_id=system.id, text=rec.output)
                session.add(out)
                outputs[key] = out
                report.outputs_added += 1
                report.empty_outputs += not rec.output.strip()
            elif existing.text != rec.output:
                if existing in session.new:  # repeated within this import (pairs format)
                    continue
                raise rec.loc.error(
                    f"system {rec.system!r} already has a different output for prompt_id "
                    f"{rec.prompt_id!r} in this study",
                    "output",
                )
            elif existing not in session.new:
                report.unchanged += 1
            if pf.format != "pairs":
                touched[prompt.id] = prompt
    session.flush()

    existing_pairs = {
        frozenset((p.output_a_id, p.output_b_id))
        for p in session.exec(select(Pair).where(Pair.study_id == sid))
    }

    def add_pair(prompt_id: int, a: Output, b: Output) -> None:
        key = frozenset((a.id, b.id))
        if key not in existing_pairs:
            session.add(Pair(study_id=sid, prompt_id=prompt_id, output_a_id=a.id, output_b_id=b.id))
            existing_pairs.add(key)
            report.pairs_added += 1

    for pf in parsed:
        for pr in pf.pairs:
            _add_given_pair(pr, prompts, systems, outputs, add_pair)
    by_prompt: dict[int, list[Output]] = {}
    for (prompt_id, _), out in outputs.items():
        if prompt_id in touched:
            by_prompt.setdefault(prompt_id, []).append(out)
    for prompt_id, outs in by_prompt.items():
        outs.sort(key=lambda o: o.system_id)  # first-imported system is side "a"
        if pairing == "baseline":
            base = systems[baseline]
            base_out = next((o for o in outs if o.system_id == base.id), None)
            if base_out is None:
                continue
            for out in outs:
                if out is not base_out:
                    add_pair(prompt_id, base_out, out)
        else:
            for a, b in combinations(outs, 2):
                add_pair(prompt_id, a, b)
    session.flush()
    return report


def _add_given_pair(pr: PairRecord, prompts, systems, outputs, add_pair) -> None:
    prompt = prompts[pr.prompt_id]
    a = outputs[(prompt.id, systems[pr.system_a].id)]
    b = outputs[(prompt.id, systems[pr.system_b].id)]
    add_pair(prompt.id, a, b)
