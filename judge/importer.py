"""Verdicts produced elsewhere -> JudgeVerdict rows (mode ``imported``), all or nothing.

A file (.csv, .tsv, .jsonl or .json) has one verdict per row with ``prompt_id``, ``system_a``,
``system_b``, ``judge`` and ``winner`` (``a``, ``b``, ``tie`` or the name of one of the two
systems; ``unparsed`` for an answer that could not be read, kept with its ``raw`` text and
never a vote), and optionally ``reasoning``, ``raw`` and a continuous ``preference`` in [1, 2]
(AlpacaEval's convention: 1 = system_a better, 2 = system_b better; without a winner its
discrete verdict is AlpacaEval's: > 1.5 system_b, < 1.5 system_a, 1.5 a tie). AlpacaEval's
own ``annotations.json`` (``instruction``, ``generator_1``, ``generator_2``, ``annotator``,
``preference``) is read as it is; its ``output_1`` / ``output_2`` must be the texts stored
for those systems (judgments of other answers are refused, as ``import`` refuses a changed
prompt). Every problem is reported with file and line; nothing is written unless the whole
file is valid. Re-importing replaces that judge's verdicts on the same pairs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from sidebyside.foundation.enums import JudgeMode, JudgmentStatus, Preference
from sidebyside.foundation.errors import FileInputError
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
from sidebyside.foundation.readers import read_table
from sidebyside.judge.arena_hard import is_arena_hard, read_arena_hard, write_arena_hard
from sidebyside.judge.specs import ENSEMBLE

REQUIRED = ("prompt_id", "system_a", "system_b", "judge", "winner")
OPTIONAL = ("reasoning", "preference", "raw")
IMPORTED_MODE = JudgeMode.IMPORTED  # verdicts made elsewhere
MAX_LISTED = 20


class ImportJudgmentsError(FileInputError):
    """The file is invalid; ``problems`` lists each as ``file:line: message``."""

    def __init__(self, file: str, problems: list[str]):
        self.problems = problems
        shown = problems[:MAX_LISTED]
        more = len(problems) - len(shown)
        text = "\n".join(shown) + (f"\n... and {more} more problem(s)" if more else "")
        super().__init__(file, f"{len(problems)} problem(s), nothing imported:\n{text}")

    @classmethod
    def from_input_error(cls, exc: FileInputError) -> ImportJudgmentsError:
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
    except FileInputError as exc:
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
#: The winner words a file may use (a, b, tie), relative to its system_a / system_b.
_PREFERENCES = {p.value: p for p in Preference}
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


class _Problem(Exception):
    """What is wrong with one row (the caller adds ``file:line``); never leaves this module."""


class _OtherOutput(_Problem):
    """An annotation judged another text than the stored output (the caller adds the record
    number too: a JSON file written on one line has every record on line 1)."""


def _preference(value: Any) -> float | None:
    """A continuous preference in [1, 2]; None when absent; _Problem when not one."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        pref = float(value)
    except (TypeError, ValueError):
        raise _Problem(f"preference {value!r} is not a number") from None
    if not 1.0 <= pref <= 2.0:
        raise _Problem(
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


@dataclass(frozen=True)
class _StudyIndex:
    """The study's names as the rows give them, looked up by every row."""

    name: str
    #: Prompt external id -> prompt id, and prompt text -> external id (AlpacaEval's rows).
    prompts: dict[str, int]
    by_text: dict[str, str]
    systems: dict[str, int]
    #: (prompt id, system id) -> output id; (output a, output b) -> pair id.
    outputs: dict[tuple[int, int], int]
    pairs: dict[tuple[int, int], int]
    #: Output id -> its stored text (AlpacaEval's rows carry the texts they judged).
    texts: dict[int, str]


def _study_index(session: Session, study: Study) -> _StudyIndex:
    prompt_rows = session.exec(select(Prompt).where(Prompt.study_id == study.id)).all()
    systems = session.exec(select(System).where(System.study_id == study.id)).all()
    outputs = session.exec(select(Output).join(Prompt).where(Prompt.study_id == study.id)).all()
    pairs = session.exec(select(Pair).where(Pair.study_id == study.id)).all()
    return _StudyIndex(
        name=study.name,
        prompts={p.external_id: p.id for p in prompt_rows},
        by_text={p.text: p.external_id for p in prompt_rows},
        systems={s.name: s.id for s in systems},
        outputs={(o.prompt_id, o.system_id): o.id for o in outputs},
        pairs={(p.output_a_id, p.output_b_id): p.id for p in pairs},
        texts={o.id: o.text for o in outputs},
    )


def _winner(raw: str, values: dict[str, str], pref: float | None) -> Preference | None:
    """The canonical winner of a row (before flipping), None for an unparsed answer."""
    if not raw and pref is not None:  # AlpacaEval's discrete rule
        return Preference.B if pref > 1.5 else Preference.A if pref < 1.5 else Preference.TIE
    if raw.lower() in _PREFERENCES:
        return _PREFERENCES[raw.lower()]
    if raw == values["system_a"]:
        return Preference.A
    if raw == values["system_b"]:
        return Preference.B
    if raw.lower() in UNPARSED_WINNERS:
        return None
    raise _Problem(
        f"winner {raw!r} must be a, b, tie, {values['system_a']!r} or "
        f"{values['system_b']!r} (or unparsed, for an answer that could not be read)"
    )


def import_judgments(
    session: Session, *, study: Study, name: str, data: bytes, baseline: str | None = None
) -> ImportSummary:
    """Validate every row, then write all verdicts (the caller commits: use unit_of_work).

    Rows may carry a continuous ``preference`` in [1, 2] (AlpacaEval's convention) next to
    the winner; a winner of ``unparsed`` (or ``invalid``) stores the judge's answer (``raw``,
    else ``reasoning``) as an unparsed judgment, which is never a vote. AlpacaEval's own
    ``annotations.json`` is read directly (instructions matched to the prompts' text), and so
    is arena-hard's judgment JSONL (``judge.arena_hard``; ``baseline`` for its v0.1 files)."""
    records = _records(name, data)
    if not records:
        raise ImportJudgmentsError(name, [f"{name}: no verdicts in the file"])
    if is_arena_hard(records[0][1]):
        return _arena_hard(session, study, name, records, baseline)
    index = _study_index(session, study)
    problems: list[str] = []
    seen: dict[tuple[str, int], int] = {}  # (judge, pair id) -> the line that gave it
    verdicts: list[_Verdict] = []
    for number, (line, record) in enumerate(records, 1):
        try:
            verdict = _verdict(record, index)
            first = seen.setdefault((verdict.judge, verdict.pair_id), line)
            if first != line:
                raise _Problem(
                    f"judge {verdict.judge!r} already has a verdict on this pair at line {first}"
                )
        except _OtherOutput as exc:
            problems.append(f"{name}:{line}: record {number}: {exc}")
            continue
        except _Problem as exc:
            problems.append(f"{name}:{line}: {exc}")
            continue
        verdicts.append(verdict)
    if problems:
        raise ImportJudgmentsError(name, problems)
    return _write(session, study, verdicts)


def _arena_hard(session, study, name, records, baseline) -> ImportSummary:
    rows, problems = read_arena_hard(
        session, study=study, name=name, records=records, baseline=baseline
    )
    if problems:
        raise ImportJudgmentsError(name, problems)
    written = write_arena_hard(session, study=study, rows=rows)
    judges: dict[str, int] = {}
    for r in rows:
        judges[r.judge] = judges.get(r.judge, 0) + 1
    return ImportSummary(
        rows=written.rows,
        inserted=written.inserted,
        replaced=written.replaced,
        unparsed=written.unparsed,
        judges=judges,
    )


def _verdict(record: dict[str, Any], index: _StudyIndex) -> _Verdict:
    """One row checked against the study, with its winner and preference seen from the
    stored pair's side; _Problem saying what is wrong otherwise."""
    annotation = None
    if "prompt_id" not in record and all(k in record for k in ALPACA_FIELDS):
        annotation, record = record, _alpaca_row(record)
        record["prompt_id"] = index.by_text.get(record["prompt"])
        if record["prompt_id"] is None:
            raise _Problem(f"the instruction is not a prompt of study {index.name!r}")
    values = {k: _text(record.get(k)) for k in REQUIRED + OPTIONAL}
    pref = _preference(record.get("preference"))
    required = [k for k in REQUIRED if k != "winner" or pref is None]
    empty = [k for k in required if not values[k]]
    if empty:
        raise _Problem(f"empty or missing {', '.join(empty)}")
    if values["judge"].lower() == ENSEMBLE:
        raise _Problem("judge name 'ensemble' is reserved; rename it")
    pair_id, flipped = _pair_of(values, index)
    if annotation is not None:
        _check_judged_outputs(annotation, values, index)
    winner = _winner(values["winner"], values, pref)
    if flipped and winner in (Preference.A, Preference.B):
        winner = Preference.B if winner == Preference.A else Preference.A
    if flipped and pref is not None:
        pref = 3.0 - pref  # 1 + P(b wins) seen from the other side
    raw = values["raw"] or values["reasoning"] or values["winner"]
    return _Verdict(values["judge"], pair_id, winner, pref, values["reasoning"], raw)


def _difference(stored: str, given: str) -> str:
    """Where a judged text departs from the stored one, in a few words."""
    if given.startswith(stored) or stored.startswith(given):
        return f"{len(given)} characters here, {len(stored)} stored; one is a prefix of the other"
    at = next(i for i, (x, y) in enumerate(zip(stored, given, strict=False)) if x != y)
    return f"{len(given)} characters here, {len(stored)} stored; first different at {at + 1}"


def _check_judged_outputs(
    annotation: dict[str, Any], values: dict[str, str], index: _StudyIndex
) -> None:
    """An AlpacaEval annotation judged ``output_1`` / ``output_2``: they must be the texts
    the study stores for generator_1 / generator_2 on that prompt, or the verdict is about
    other answers."""
    prompt_id = index.prompts[values["prompt_id"]]
    for key, system in (("output_1", values["system_a"]), ("output_2", values["system_b"])):
        given = annotation.get(key)
        if _is_missing(given):
            continue
        stored = index.texts[index.outputs[(prompt_id, index.systems[system])]]
        if str(given) != stored:
            instruction = str(annotation.get("instruction") or "")
            short = instruction if len(instruction) <= 60 else instruction[:57] + "..."
            raise _OtherOutput(
                f"{key} of {system!r} on instruction {short!r} is not the stored output "
                f"({_difference(stored, str(given))}): the verdict judged another answer"
            )


def _pair_of(values: dict[str, str], index: _StudyIndex) -> tuple[int, bool]:
    """The pair of the row's prompt and systems, and whether it is stored the other way
    round (system_b as its output a)."""
    prompt_id = index.prompts.get(values["prompt_id"])
    if prompt_id is None:
        raise _Problem(f"prompt_id {values['prompt_id']!r} is not in study {index.name!r}")
    sys_a, sys_b = index.systems.get(values["system_a"]), index.systems.get(values["system_b"])
    unknown = [values[k] for k, s in (("system_a", sys_a), ("system_b", sys_b)) if s is None]
    if unknown:
        raise _Problem(
            f"unknown system(s) {', '.join(map(repr, unknown))} "
            f"(study has: {', '.join(sorted(index.systems))})"
        )
    out_a, out_b = index.outputs.get((prompt_id, sys_a)), index.outputs.get((prompt_id, sys_b))
    if (out_a, out_b) in index.pairs:
        return index.pairs[(out_a, out_b)], False
    if (out_b, out_a) in index.pairs:
        return index.pairs[(out_b, out_a)], True
    raise _Problem(
        f"no pair of {values['system_a']!r} and {values['system_b']!r} on prompt "
        f"{values['prompt_id']!r}"
    )


def _write(session: Session, study: Study, verdicts: list[_Verdict]) -> ImportSummary:
    """Insert or replace each judge's imported verdicts; an unparsed answer replaces any
    verdict the judge had on that pair with an unparsed judgment row."""
    summary = ImportSummary(rows=len(verdicts))
    existing, unparsed_rows = _imported_rows(session, study.id, sorted({v.judge for v in verdicts}))
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
        summary.unparsed += v.winner is None
        _store(session, study.id, v, row)
    session.flush()
    return summary


def _imported_rows(
    session: Session, study_id: int, judges: list[str]
) -> tuple[dict[tuple[str, int], JudgeVerdict], dict[tuple[str, int], Judgment]]:
    """The judges' imported verdicts and unparsed judgments, by (judge, pair id)."""
    verdicts = session.exec(
        select(JudgeVerdict).where(
            JudgeVerdict.study_id == study_id,
            JudgeVerdict.mode == IMPORTED_MODE,
            JudgeVerdict.judge.in_(judges),  # type: ignore[attr-defined]
        )
    ).all()
    unparsed = session.exec(
        select(Judgment).where(
            Judgment.study_id == study_id,
            Judgment.mode == IMPORTED_MODE,
            Judgment.judge.in_(judges),  # type: ignore[attr-defined]
        )
    ).all()
    return {(v.judge, v.pair_id): v for v in verdicts}, {(j.judge, j.pair_id): j for j in unparsed}


def _store(session: Session, study_id: int, v: _Verdict, row: JudgeVerdict | None) -> None:
    """One verdict: an unparsed judgment in place of any verdict, a new verdict, or the
    judge's earlier verdict on the pair updated."""
    if v.winner is None:
        if row is not None:
            session.delete(row)
        session.add(
            Judgment(
                study_id=study_id,
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
                study_id=study_id,
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


def import_judgments_file(
    session: Session, *, study: Study, path: str | Path, baseline: str | None = None
) -> ImportSummary:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportJudgmentsError(
            str(path), [f"{path}: cannot read: {exc.strerror or exc}"]
        ) from None
    return import_judgments(session, study=study, name=str(path), data=data, baseline=baseline)
