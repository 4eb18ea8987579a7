"""Import files into a study, all or nothing.

Every file is parsed and checked against the database before a single row is written; any
problem raises ``FileInputError`` and the database is left exactly as it was.
Re-importing the same file changes nothing. The writes are a few bulk INSERTs in one short
savepoint, so a 50k-row import holds SQLite's write lock for about a second, not for the
whole import: annotators voting meanwhile wait that long at most.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from sidebyside.annotate.arena_hard import to_long_format
from sidebyside.annotate.conversations import (
    parse_answer_sources,
    parse_prompt_sources,
    parse_reference_sources,
    stored_conversation,
)
from sidebyside.annotate.sources import OutputRecord, ParsedFile
from sidebyside.foundation.conversation import study_conversations
from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.models import Output, Pair, Prompt, Study, System
from sidebyside.foundation.names import clash
from sidebyside.foundation.prompt_sets import differing_prompts, record_prompt_set

__all__ = ["ImportReport", "import_paths", "import_sources"]

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
    prompts: Sequence[str | Path] = (),
    references: Sequence[str | Path] = (),
) -> ImportReport:
    """Read files from disk and import them (see ``import_sources``)."""
    return import_sources(
        session,
        study=study,
        sources=_read(paths),
        pairing=pairing,
        baseline=baseline,
        prompts=_read(prompts),
        references=_read(references),
    )


def _read(paths: Sequence[str | Path]) -> list[tuple[str, bytes]]:
    sources = []
    for path in paths:
        path = Path(path)
        try:
            sources.append((str(path), path.read_bytes()))
        except OSError as exc:
            raise FileInputError(str(path), f"cannot read the file: {exc.strerror}") from None
    return sources


def import_sources(
    session: Session,
    *,
    study: Study,
    sources: Sequence[tuple[str, bytes]],
    pairing: str = "all",
    baseline: str | None = None,
    prompts: Sequence[tuple[str, bytes]] = (),
    references: Sequence[tuple[str, bytes]] = (),
) -> ImportReport:
    """Import (file name, bytes) sources into ``study``, all or nothing: the writes run in a
    savepoint, so an error leaves the caller's transaction as it was (the caller commits).

    ``pairing`` applies to long and alpaca_eval files: "all" pairs every two systems on a
    prompt, "baseline" pairs each system only with ``baseline``. Pairs-format files are
    imported exactly as given.

    Conversation files (``annotate.conversations``: MT-Bench's answers, chat ``messages``) are
    imported turn by turn; ``prompts`` are their question files (MT-Bench's question.jsonl)
    and ``references`` answer-format files whose turns are the reference answers.
    """
    if pairing not in PAIRINGS:
        raise InputError(f"pairing must be one of {', '.join(PAIRINGS)}, got {pairing!r}")
    if pairing == "baseline" and not baseline:
        raise InputError("pairing 'baseline' needs the name of the baseline system")
    if not sources:
        raise InputError("no files to import")
    stored = {  # answers of another system may come later, without the prompts file
        cid: stored_conversation(study.name, cid, *held)
        for cid, held in study_conversations(session, study_id=study.id).items()
    }
    if not prompts and not stored:  # arena-hard's model_answer files, read as they are
        sources = to_long_format(sources)
    parsed = parse_answer_sources(
        sources, parse_prompt_sources(prompts), parse_reference_sources(references), stored
    )
    _check_across_files(parsed)
    texts = {rec.prompt_id: rec.prompt for pf in parsed for rec in pf.outputs}
    _check_eval_set(session, study, parsed, texts)
    # Parse, read and check first, then write in a few bulk statements: on SQLite the write
    # lock (taken by the savepoint) is held for the writes only, not the whole import.
    plan, report, *known = _plan_import(
        session, study, parsed, baseline if pairing == "baseline" else None
    )
    try:
        with session.begin_nested():
            _apply(session, study, plan, report, tuple(known), pairing, baseline)
            record_prompt_set(session, study=study, texts=texts)  # the eval set's version
    except IntegrityError:
        raise FileInputError(
            parsed[0].name,
            "another import changed this study at the same time; nothing was imported, "
            "import again",
        ) from None
    return report


def _check_eval_set(
    session: Session, study: Study, parsed: list[ParsedFile], texts: dict[str, str]
) -> None:
    """Refuse prompts whose texts differ from the study's (its eval set), naming them all."""
    ids = differing_prompts(session, study=study, texts=texts)
    if ids:
        first = next(r for pf in parsed for r in pf.outputs if r.prompt_id == ids[0])
        shown = ", ".join(repr(i) for i in ids[:20]) + (" ..." if len(ids) > 20 else "")
        raise first.loc.error(
            f"prompt_id {ids[0]!r} is already in the study with a different prompt text; "
            f"{len(ids)} prompt(s) differ from the study's eval set: {shown} (a changed eval "
            "set is a new study, or generate --new-version)",
            "prompt",
        )


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


@dataclass
class _Plan:
    """Everything an import will write, worked out (and checked) before the write lock is
    taken: names, not ids, since new rows have none yet."""

    new_systems: list[str] = field(default_factory=list)
    #: external id ─► [text, reference, category, conversation, turn, system message] of
    #: prompts this import creates
    new_prompts: dict[str, list] = field(default_factory=dict)
    #: prompt row id ─► {column: value} for existing prompts that gain a reference/category
    prompt_updates: dict[int, dict] = field(default_factory=dict)
    #: (external id, system name) ─► text of outputs this import creates, in file order
    new_outputs: dict[tuple[str, str], str] = field(default_factory=dict)
    #: prompts of long/alpaca files (to pair every two systems, or each with the baseline)
    touched: dict[str, None] = field(default_factory=dict)
    #: pairs-format pairs: (external id, system a, system b)
    given_pairs: list[tuple[str, str, str]] = field(default_factory=list)


def _rows(session: Session, query) -> list:
    return session.connection().execute(query).all()


def _plan_import(
    session: Session, study: Study, parsed: list[ParsedFile], baseline: str | None
) -> tuple[_Plan, ImportReport, dict, dict, dict]:
    """Read what the study has and check every record against it: all errors are raised
    here, before anything is written (reads take no write lock)."""
    report = ImportReport(files=[(pf.name, pf.format) for pf in parsed])
    plan = _Plan()
    sid = study.id
    systems = dict(_rows(session, select(System.name, System.id).where(System.study_id == sid)))
    prompts = {
        ext: [pid, text, ref, cat, (conv, turn, system)]
        for pid, ext, text, ref, cat, conv, turn, system in _rows(
            session,
            select(
                Prompt.id,
                Prompt.external_id,
                Prompt.text,
                Prompt.reference,
                Prompt.category,
                Prompt.conversation,
                Prompt.turn,
                Prompt.system_message,
            ).where(Prompt.study_id == sid),
        )
    }
    outputs = {
        (ext, name): (oid, text)
        for oid, ext, name, text in _rows(
            session,
            select(Output.id, Prompt.external_id, System.name, Output.text)
            .join(Prompt, Output.prompt_id == Prompt.id)
            .join(System, Output.system_id == System.id)
            .where(Prompt.study_id == sid),
        )
    }
    if baseline is not None:
        names = {r.system for pf in parsed for r in pf.outputs} | set(systems)
        if baseline not in names:
            raise InputError(
                f"baseline system {baseline!r} is neither in the files nor in the study "
                f"(systems: {', '.join(sorted(names))})"
            )
    categories = _Categories(
        _rows(session, select(Prompt.category).where(Prompt.study_id == sid).distinct())
    )
    for pf in parsed:
        for rec in pf.outputs:
            categories.check(rec)
            if rec.system not in systems and rec.system not in plan.new_systems:
                if other := clash(rec.system, [*systems, *plan.new_systems]):
                    raise rec.loc.error(
                        f"system {rec.system!r} differs from the system {other!r} only by "
                        "case: use the same name for the same system",
                        "system",
                    )
                plan.new_systems.append(rec.system)
                report.systems_added += 1
            _plan_prompt(plan, report, prompts, rec)
            key = (rec.prompt_id, rec.system)
            if key in plan.new_outputs:
                pass  # repeated within this import (pairs format); files agree (checked)
            elif key not in outputs:
                plan.new_outputs[key] = rec.output
                report.outputs_added += 1
                report.empty_outputs += not rec.output.strip()
            elif outputs[key][1] != rec.output:
                raise rec.loc.error(
                    f"system {rec.system!r} already has a different output for prompt_id "
                    f"{rec.prompt_id!r} in this study",
                    "output",
                )
            else:
                report.unchanged += 1
            if pf.format != "pairs":
                plan.touched[rec.prompt_id] = None
        plan.given_pairs += [(pr.prompt_id, pr.system_a, pr.system_b) for pr in pf.pairs]
    return plan, report, systems, prompts, outputs


class _Categories:
    """The study's categories and this import's, so that "coding" is refused beside "Coding"
    (in one file, across files or against the study) as a twin system name is."""

    def __init__(self, stored: list) -> None:
        self.known: dict[str, None] = dict.fromkeys(c for (c,) in stored if c)

    def check(self, rec: OutputRecord) -> None:
        cat = rec.category
        if not cat or cat in self.known:
            return
        if other := clash(cat, self.known):
            raise rec.loc.error(
                f"category {cat!r} differs from the category {other!r} only by case: use the "
                "same name for the same category",
                "category",
            )
        self.known[cat] = None


def _plan_prompt(plan: _Plan, report: ImportReport, prompts: dict, rec: OutputRecord) -> None:
    new = plan.new_prompts.get(rec.prompt_id)
    if new is None and rec.prompt_id not in prompts:
        plan.new_prompts[rec.prompt_id] = [
            rec.prompt, rec.reference, rec.category, rec.conversation, rec.turn,
            rec.system_message,
        ]  # fmt: skip
        report.prompts_added += 1
        return
    if new is not None:  # created by this import: a later record may fill in what it lacks
        text, ref, cat = new[:3]
        if rec.category and cat and rec.category != cat:
            raise rec.loc.error(
                f"prompt_id {rec.prompt_id!r} has category {cat!r} in another file", "category"
            )
        if rec.reference and not ref:
            new[1] = rec.reference
        if rec.category and not cat:
            new[2] = rec.category
        return
    pid, text, ref, cat, turn_of = prompts[rec.prompt_id]
    if text != rec.prompt:
        raise rec.loc.error(
            f"prompt_id {rec.prompt_id!r} is already in the study with a different prompt text",
            "prompt",
        )
    if turn_of != (rec.conversation, rec.turn, rec.system_message):
        raise rec.loc.error(
            f"prompt_id {rec.prompt_id!r} is already in the study as a different "
            "conversation turn (or as a single-turn prompt)",
            "prompt_id",
        )
    # A later file may add what an earlier one left out, never change it.
    if rec.reference and not ref:
        prompts[rec.prompt_id][2] = rec.reference
        plan.prompt_updates.setdefault(pid, {})["reference"] = rec.reference
    if rec.category and cat and rec.category != cat:
        raise rec.loc.error(
            f"prompt_id {rec.prompt_id!r} is already in the study with category {cat!r}",
            "category",
        )
    if rec.category and not cat:
        prompts[rec.prompt_id][3] = rec.category
        plan.prompt_updates.setdefault(pid, {})["category"] = rec.category
        report.categories_added += 1


def _insert(session: Session, table, rows: list[dict], *keys) -> list:
    """Bulk INSERT ... RETURNING id (and ``keys``), in the order of ``rows``."""
    if not rows:
        return []
    stmt = insert(table).returning(table.id, *keys, sort_by_parameter_order=True)
    return session.execute(stmt, rows).all()


def _apply(
    session: Session,
    study: Study,
    plan: _Plan,
    report: ImportReport,
    known: tuple[dict, dict, dict],
    pairing: str,
    baseline: str | None,
) -> None:
    """The writes, as a handful of bulk statements: on SQLite the write lock is held for
    these only, so annotators' votes go through during a big import."""
    systems, _prompts, _outputs = known
    sid = study.id
    for (sys_id,), name in zip(
        _insert(session, System, [{"study_id": sid, "name": n} for n in plan.new_systems]),
        plan.new_systems,
        strict=True,
    ):
        systems[name] = sys_id
    # Plain executemany (no RETURNING): the fastest bulk path; the new ids are read back.
    rows = [
        {"study_id": sid, "external_id": ext, "text": t, "reference": r, "category": c,
         "conversation": conv, "turn": turn, "system_message": system}
        for ext, (t, r, c, conv, turn, system) in plan.new_prompts.items()
    ]  # fmt: skip
    if rows:
        session.execute(insert(Prompt), rows)
    prompt_ids = dict(
        _rows(session, select(Prompt.external_id, Prompt.id).where(Prompt.study_id == sid))
    )
    if plan.prompt_updates:
        session.execute(
            update(Prompt), [{"id": pid, **values} for pid, values in plan.prompt_updates.items()]
        )
    rows = [
        {"prompt_id": prompt_ids[ext], "system_id": systems[name], "text": text}
        for (ext, name), text in plan.new_outputs.items()
    ]
    if rows:
        session.execute(insert(Output), rows)
    ext_of = {pid: ext for ext, pid in prompt_ids.items()}
    name_of = {sys_id: name for name, sys_id in systems.items()}
    out_ids = {
        (ext_of[pid], name_of[sys_id]): oid
        for oid, pid, sys_id in _rows(
            session,
            select(Output.id, Output.prompt_id, Output.system_id)
            .join(Prompt, Output.prompt_id == Prompt.id)
            .where(Prompt.study_id == sid),
        )
    }
    _add_pairs(session, study, plan, report, systems, prompt_ids, out_ids, pairing, baseline)


def _add_pairs(
    session, study, plan, report, systems, prompt_ids, out_ids, pairing, baseline
) -> None:
    sid = study.id
    existing = {
        frozenset(p) for p in _rows(session, select(Pair.output_a_id, Pair.output_b_id).where(
            Pair.study_id == sid))
    }  # fmt: skip
    rows: list[dict] = []

    def add_pair(ext: str, a: int, b: int) -> None:
        key = frozenset((a, b))
        if key not in existing:
            rows.append({"study_id": sid, "prompt_id": prompt_ids[ext], "output_a_id": a,
                         "output_b_id": b})  # fmt: skip
            existing.add(key)

    for ext, sa, sb in plan.given_pairs:
        add_pair(ext, out_ids[(ext, sa)], out_ids[(ext, sb)])
    by_prompt: dict[str, list[tuple[int, int]]] = {}  # ext ─► [(system id, output id)]
    for (ext, name), oid in out_ids.items():
        if ext in plan.touched:
            by_prompt.setdefault(ext, []).append((systems[name], oid))
    for ext, outs in by_prompt.items():
        outs.sort()  # first-imported system (lowest id) is side "a"
        if pairing == "baseline":
            base_id = systems[baseline]
            base_out = next((oid for s, oid in outs if s == base_id), None)
            if base_out is None:
                continue
            for s, oid in outs:
                if s != base_id:  # "SYSTEM vs BASELINE": win rates read for the system
                    add_pair(ext, oid, base_out)
        else:
            for (_, a), (_, b) in combinations(outs, 2):
                add_pair(ext, a, b)
    if rows:
        session.execute(insert(Pair), rows)
    report.pairs_added = len(rows)
