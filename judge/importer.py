"""Verdicts produced elsewhere -> JudgeVerdict rows (mode ``imported``), all or nothing.

A file (.csv, .tsv, .jsonl or .json) has one verdict per row with ``prompt_id``, ``system_a``,
``system_b``, ``judge`` and ``winner`` (``a``, ``b``, ``tie`` or the name of one of the two
systems), and optionally ``reasoning``. Every problem is reported with file and line; nothing
is written unless the whole file is valid. Re-importing replaces that judge's verdicts on the
same pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from foundation.models import JudgeVerdict, Output, Pair, Prompt, Study, System, utcnow
from foundation.readers import InputError, read_table
from judge.specs import ENSEMBLE

REQUIRED = ("prompt_id", "system_a", "system_b", "judge", "winner")
OPTIONAL = ("reasoning",)
IMPORTED_MODE = "imported"
MAX_LISTED = 20


class ImportJudgmentsError(InputError):
    """The file is invalid; ``problems`` lists each as ``file:line: message``."""

    def __init__(self, file: str, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_LISTED]
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more problem(s)" if more else "")
        super().__init__(file, f"{len(problems)} problem(s), nothing imported:\n{text}")

    @classmethod
    def from_input_error(cls, exc: InputError) -> ImportJudgmentsError:
        """The reader's one error as a one-problem list, in this module's ``file:line:`` form."""
        where = exc.file if exc.line is None else f"{exc.file}:{exc.line}"
        column = "" if exc.column is None else f"column {exc.column}: "
        return cls(exc.file, [f"{where}: {column}{exc.message}"])


@dataclass
class ImportSummary:
    rows: int = 0
    inserted: int = 0
    replaced: int = 0
    judges: dict[str, int] = field(default_factory=dict)


def _records(name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs; raise ImportJudgmentsError for unreadable files."""
    try:
        table = read_table(name, data)
    except InputError as exc:
        raise ImportJudgmentsError.from_input_error(exc) from None
    if table.format in ("csv", "tsv"):
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing:
            raise ImportJudgmentsError(
                name,
                [
                    f"{name}:1: missing column(s) {', '.join(missing)} (header has: "
                    f"{', '.join(table.columns) or 'nothing'})"
                ],
            )
    return table.records


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def import_judgments(session: Session, *, study: Study, name: str, data: bytes) -> ImportSummary:
    """Validate every row, then write all verdicts (the caller commits: use session_scope)."""
    records = _records(name, data)
    if not records:
        raise ImportJudgmentsError(name, [f"{name}: no verdicts in the file"])
    prompts = {
        p.external_id: p.id
        for p in session.exec(select(Prompt).where(Prompt.study_id == study.id)).all()
    }
    systems = {
        s.name: s.id for s in session.exec(select(System).where(System.study_id == study.id)).all()
    }
    outputs = {
        (o.prompt_id, o.system_id): o.id
        for o in session.exec(select(Output).join(Prompt).where(Prompt.study_id == study.id)).all()
    }
    pairs = {
        (p.output_a_id, p.output_b_id): p.id
        for p in session.exec(select(Pair).where(Pair.study_id == study.id)).all()
    }
    problems: list[str] = []
    seen: dict[tuple[str, int], int] = {}
    verdicts: list[tuple[str, int, str, str]] = []
    for line, record in records:
        where = f"{name}:{line}"
        values = {k: _text(record.get(k)) for k in REQUIRED + OPTIONAL}
        empty = [k for k in REQUIRED if not values[k]]
        if empty:
            problems.append(f"{where}: empty or missing {', '.join(empty)}")
            continue
        judge = values["judge"]
        if judge.lower() == ENSEMBLE:
            problems.append(f"{where}: judge name 'ensemble' is reserved; rename it")
            continue
        prompt_id = prompts.get(values["prompt_id"])
        if prompt_id is None:
            problems.append(
                f"{where}: prompt_id {values['prompt_id']!r} is not in study {study.name!r}"
            )
            continue
        sys_a, sys_b = systems.get(values["system_a"]), systems.get(values["system_b"])
        unknown = [values[k] for k, s in (("system_a", sys_a), ("system_b", sys_b)) if s is None]
        if unknown:
            problems.append(
                f"{where}: unknown system(s) {', '.join(map(repr, unknown))} "
                f"(study has: {', '.join(sorted(systems))})"
            )
            continue
        out_a, out_b = outputs.get((prompt_id, sys_a)), outputs.get((prompt_id, sys_b))
        pair_id, flipped = pairs.get((out_a, out_b)), False
        if pair_id is None:
            pair_id, flipped = pairs.get((out_b, out_a)), True
        if pair_id is None:
            problems.append(
                f"{where}: no pair of {values['system_a']!r} and "
                f"{values['system_b']!r} on prompt {values['prompt_id']!r}"
            )
            continue
        raw = values["winner"]
        if raw.lower() in ("a", "b", "tie"):
            winner = raw.lower()
        elif raw == values["system_a"]:
            winner = "a"
        elif raw == values["system_b"]:
            winner = "b"
        else:
            problems.append(
                f"{where}: winner {raw!r} must be a, b, tie, "
                f"{values['system_a']!r} or {values['system_b']!r}"
            )
            continue
        if flipped and winner != "tie":
            winner = "b" if winner == "a" else "a"
        if (judge, pair_id) in seen:
            problems.append(
                f"{where}: judge {judge!r} already has a verdict on this pair at "
                f"line {seen[(judge, pair_id)]}"
            )
            continue
        seen[(judge, pair_id)] = line
        verdicts.append((judge, pair_id, winner, values["reasoning"]))
    if problems:
        raise ImportJudgmentsError(name, problems)
    summary = ImportSummary(rows=len(verdicts))
    judges = sorted({v[0] for v in verdicts})
    existing = {
        (v.judge, v.pair_id): v
        for v in session.exec(
            select(JudgeVerdict).where(
                JudgeVerdict.study_id == study.id,
                JudgeVerdict.mode == IMPORTED_MODE,
                JudgeVerdict.judge.in_(judges),  # type: ignore[attr-defined]
            )
        ).all()
    }
    for judge, pair_id, winner, reasoning in verdicts:
        summary.judges[judge] = summary.judges.get(judge, 0) + 1
        row = existing.get((judge, pair_id))
        if row is None:
            session.add(
                JudgeVerdict(
                    study_id=study.id,
                    pair_id=pair_id,
                    judge=judge,
                    mode=IMPORTED_MODE,
                    winner=winner,
                    reasoning=reasoning,
                )
            )
            summary.inserted += 1
        else:
            row.winner, row.reasoning, row.inconsistent = winner, reasoning, False
            row.created_at = utcnow()
            session.add(row)
            summary.replaced += 1
    session.flush()
    return summary


def import_judgments_file(session: Session, *, study: Study, path: str | Path) -> ImportSummary:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportJudgmentsError(
            str(path), [f"{path}: cannot read: {exc.strerror or exc}"]
        ) from None
    return import_judgments(session, study=study, name=str(path), data=data)
