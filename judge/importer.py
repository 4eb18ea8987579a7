"""Verdicts produced elsewhere -> JudgeVerdict rows (mode ``imported``), all or nothing.

A file (.csv, .tsv, .jsonl or .json) has one verdict per row with ``prompt_id``, ``system_a``,
``system_b``, ``judge`` and ``winner`` (``a``, ``b``, ``tie`` or the name of one of the two
systems; ``unparsed`` for an answer that could not be read, kept with its ``raw`` text and
never a vote), and optionally ``reasoning``, ``raw`` and a continuous ``preference`` in [1, 2]
(AlpacaEval's convention: 1 = system_a better, 2 = system_b better; without a winner its
discrete verdict is AlpacaEval's: > 1.5 system_b, < 1.5 system_a, 1.5 a tie). AlpacaEval's
own ``annotations.json`` (``instruction``, ``generator_1``, ``generator_2``, ``annotator``,
``preference``) is read as it is. Every problem is reported with file and line; nothing
is written unless the whole file is valid. Re-importing replaces that judge's verdicts on the
same pairs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from sidebyside.foundation.enums import JudgeMode, JudgmentStatus
from sidebyside.foundation.models import (
    JudgeVerdict,
    Judgment,
    Output,
    Pair,
    Prompt,
    Study,
    System,
    utcnow,
)
from sidebyside.foundation.readers import InputError, read_table
from sidebyside.judge.specs import ENSEMBLE

REQUIRED = ("prompt_id", "system_a", "system_b", "judge", "winner")
OPTIONAL = ("reasoning", "preference", "raw")
IMPORTED_MODE = JudgeMode.IMPORTED  # verdicts made elsewhere
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
    #: Rows whose winner was unparsed: stored as unparsed judgments, not as votes.
    unparsed: int = 0
    judges: dict[str, int] = field(default_factory=dict)


def _records(name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line number, record) pairs; raise ImportJudgmentsError for unreadable files."""
    try:
        table = read_table(name, data)
    except InputError as exc:
        raise ImportJudgmentsError.from_input_error(exc) from None
    if table.format in ("csv", "tsv"):
        needed = [c for c in REQUIRED if c != "winner" or "preference" not in table.columns]
        missing = [c for c in needed if c not in table.columns]
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


#: Winners that record a judge answer nobody could read: kept with its raw text, never a vote.
UNPARSED_WINNERS = ("unparsed", "invalid")
#: AlpacaEval's annotations.json: one comparison per object, the reference as output_1.
ALPACA_FIELDS = ("instruction", "generator_1", "generator_2", "preference")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _alpaca_row(record: dict[str, Any]) -> dict[str, Any]:
    """An AlpacaEval annotation as one of this module's rows: output_1 is system_a, the
    preference (1 = output_1 better, 2 = output_2 better) is kept as is, and the discrete
    winner follows AlpacaEval's own rule (> 1.5 output_2, < 1.5 output_1, = 1.5 a tie); no
    preference (NaN) is an unparsed answer."""
    instruction = str(record.get("instruction") or "")  # unstripped: matched to the prompt
    extra = str(record.get("input") or "")
    pref = record.get("preference")
    raw = record.get("raw_completion")
    return {
        "prompt": f"{instruction}\n\n{extra}" if extra.strip() else instruction,
        "system_a": record.get("generator_1"),
        "system_b": record.get("generator_2"),
        "judge": record.get("annotator") or "alpaca_eval",
        "winner": "unparsed" if _is_missing(pref) else "",
        "preference": None if _is_missing(pref) else pref,
        "raw": raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False),
    }


def _preference(value: Any) -> float | None:
    """A continuous preference in [1, 2]; None when absent; ValueError when not one."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        pref = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"preference {value!r} is not a number") from None
    if not 1.0 <= pref <= 2.0:
        raise ValueError(
            f"preference {pref!r} is outside [1, 2] (1 = system_a better, 2 = system_b better)"
        )
    return pref


@dataclass
class _Verdict:
    judge: str
    pair_id: int
    winner: str | None  # None: unparsed
    preference: float | None
    reasoning: str
    raw: str


def _winner(raw: str, values: dict[str, str], pref: float | None) -> str | None | Exception:
    """The canonical winner of a row (before flipping), None for an unparsed answer."""
    if not raw and pref is not None:  # AlpacaEval's discrete rule
        return "b" if pref > 1.5 else "a" if pref < 1.5 else "tie"
    if raw.lower() in ("a", "b", "tie"):
        return raw.lower()
    if raw == values["system_a"]:
        return "a"
    if raw == values["system_b"]:
        return "b"
    if raw.lower() in UNPARSED_WINNERS:
        return None
    return ValueError(
        f"winner {raw!r} must be a, b, tie, {values['system_a']!r} or "
        f"{values['system_b']!r} (or unparsed, for an answer that could not be read)"
    )


def import_judgments(session: Session, *, study: Study, name: str, data: bytes) -> ImportSummary:
    """Validate every row, then write all verdicts (the caller commits: use unit_of_work).

    Rows may carry a continuous ``preference`` in [1, 2] (AlpacaEval's convention) next to
    the winner; a winner of ``unparsed`` (or ``invalid``) stores the judge's answer (``raw``,
    else ``reasoning``) as an unparsed judgment, which is never a vote. AlpacaEval's own
    ``annotations.json`` is read directly (instructions matched to the prompts' text)."""
    records = _records(name, data)
    if not records:
        raise ImportJudgmentsError(name, [f"{name}: no verdicts in the file"])
    prompt_rows = session.exec(select(Prompt).where(Prompt.study_id == study.id)).all()
    prompts = {p.external_id: p.id for p in prompt_rows}
    by_text = {p.text: p.external_id for p in prompt_rows}
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
    verdicts: list[_Verdict] = []
    for line, record in records:
        where = f"{name}:{line}"
        if "prompt_id" not in record and all(k in record for k in ALPACA_FIELDS):
            record = _alpaca_row(record)
            external = by_text.get(record["prompt"])
            if external is None:
                problems.append(f"{where}: the instruction is not a prompt of study {study.name!r}")
                continue
            record["prompt_id"] = external
        values = {k: _text(record.get(k)) for k in REQUIRED + OPTIONAL}
        try:
            pref = _preference(record.get("preference"))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        required = [k for k in REQUIRED if k != "winner" or pref is None]
        empty = [k for k in required if not values[k]]
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
        winner = _winner(values["winner"], values, pref)
        if isinstance(winner, Exception):
            problems.append(f"{where}: {winner}")
            continue
        if flipped and winner in ("a", "b"):
            winner = "b" if winner == "a" else "a"
        if flipped and pref is not None:
            pref = 3.0 - pref  # 1 + P(b wins) seen from the other side
        if (judge, pair_id) in seen:
            problems.append(
                f"{where}: judge {judge!r} already has a verdict on this pair at "
                f"line {seen[(judge, pair_id)]}"
            )
            continue
        seen[(judge, pair_id)] = line
        raw = values["raw"] or values["reasoning"] or values["winner"]
        verdicts.append(_Verdict(judge, pair_id, winner, pref, values["reasoning"], raw))
    if problems:
        raise ImportJudgmentsError(name, problems)
    return _write(session, study, verdicts)


def _write(session: Session, study: Study, verdicts: list[_Verdict]) -> ImportSummary:
    """Insert or replace each judge's imported verdicts; an unparsed answer replaces any
    verdict the judge had on that pair with an unparsed judgment row."""
    summary = ImportSummary(rows=len(verdicts))
    judges = sorted({v.judge for v in verdicts})
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
    unparsed_rows = {
        (j.judge, j.pair_id): j
        for j in session.exec(
            select(Judgment).where(
                Judgment.study_id == study.id,
                Judgment.mode == IMPORTED_MODE,
                Judgment.judge.in_(judges),  # type: ignore[attr-defined]
            )
        ).all()
    }
    for v in verdicts:
        key = (v.judge, v.pair_id)
        summary.judges[v.judge] = summary.judges.get(v.judge, 0) + 1
        row, old_unparsed = existing.get(key), unparsed_rows.get(key)
        if old_unparsed is not None:
            session.delete(old_unparsed)
        if row is not None or old_unparsed is not None:
            summary.replaced += 1
        else:
            summary.inserted += 1
        if v.winner is None:
            summary.unparsed += 1
            if row is not None:
                session.delete(row)
            session.add(
                Judgment(
                    study_id=study.id,
                    pair_id=v.pair_id,
                    judge=v.judge,
                    mode=IMPORTED_MODE,
                    status=JudgmentStatus.UNPARSED,
                    reasoning=v.reasoning,
                    raw=v.raw,
                )
            )
        elif row is None:
            session.add(
                JudgeVerdict(
                    study_id=study.id,
                    pair_id=v.pair_id,
                    judge=v.judge,
                    mode=IMPORTED_MODE,
                    winner=v.winner,
                    preference=v.preference,
                    reasoning=v.reasoning,
                )
            )
        else:
            row.winner, row.reasoning, row.inconsistent = v.winner, v.reasoning, False
            row.preference, row.created_at = v.preference, utcnow()
            session.add(row)
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
