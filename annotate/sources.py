"""Read import files (CSV, JSONL, alpaca_eval JSON) into validated records.

Pure parsing: no database. Every problem raises ``FileInputError`` naming the file,
line and column, so the import can stop before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.names import name_problem, normalise
from sidebyside.foundation.readers import (
    csv_records,
    decode,
    json_records,
    jsonl_records,
)

LONG_COLUMNS = ("prompt_id", "prompt", "system", "output")
PAIR_COLUMNS = ("prompt_id", "prompt", "system_a", "output_a", "system_b", "output_b")


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    column: str | None = None

    def error(self, message: str, column: str | None = None) -> FileInputError:
        col = column or self.column
        return FileInputError(self.file, message, line=self.line, column=col)


@dataclass(frozen=True)
class OutputRecord:
    loc: Loc
    prompt_id: str
    prompt: str
    reference: str | None
    system: str
    output: str
    #: Optional task category (column ``category``; alpaca_eval's ``dataset``).
    category: str | None = None
    #: A conversation's turn (``annotate.conversations``): its id, turn number (1-based) and
    #: system message; None for a single-turn prompt.
    conversation: str | None = None
    turn: int | None = None
    system_message: str | None = None


@dataclass(frozen=True)
class PairRecord:
    loc: Loc
    prompt_id: str
    system_a: str
    system_b: str


@dataclass
class ParsedFile:
    name: str
    format: str  # "long" | "pairs" | "alpaca_eval"
    outputs: list[OutputRecord]
    pairs: list[PairRecord]


def _text(value: Any, loc: Loc, column: str, *, required: bool) -> str:
    """A cell as text. Missing/None/NaN is '' (allowed only when not required)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = ""
    if isinstance(value, bool | dict | list):
        raise loc.error(
            f"expected text, got {type(value).__name__} {json.dumps(value)[:80]}: write the "
            f'answer as a JSON string (e.g. "{json.dumps(value)[:20]}" in quotes) if that is '
            "what the system said, or an empty string if it said nothing",
            column,
        )
    text = value if isinstance(value, str) else str(value)
    if required and not text.strip():
        raise loc.error(f"{column!r} is empty", column)
    if "\x00" in text:  # a JSON "\u0000": PostgreSQL refuses it, SQLite would keep it
        raise loc.error(f"{column!r} contains a NUL character (\\u0000)", column)
    return text


#: Declared maximum lengths of the database columns, checked here on every backend (SQLite
#: does not enforce VARCHAR lengths; PostgreSQL would fail mid-import).
MAX_NAME_CHARS = 200


def _name(value: Any, loc: Loc, column: str) -> str:
    """A required short identifier (prompt_id, a system name), stripped and length-checked."""
    text = _text(value, loc, column, required=True).strip()
    if len(text) > MAX_NAME_CHARS:
        raise loc.error(
            f"{column!r} has at most {MAX_NAME_CHARS} characters, got {len(text)}", column
        )
    return text


def _clean(text: str, loc: Loc, column: str, what: str) -> str:
    """A user-given name by the rules of ``foundation.names`` (NFC, nothing invisible)."""
    problem = name_problem(text)
    if problem:
        raise loc.error(f"{what} {text!r} {problem}", column)
    return normalise(text)


def _system(value: Any, loc: Loc, column: str) -> str:
    return _clean(_name(value, loc, column), loc, column, "system name")


def _category(value: Any, loc: Loc, column: str) -> str | None:
    text = _text(value, loc, column, required=False).strip()
    if text:
        text = _clean(text, loc, column, "category")
    if len(text) > 100:
        raise loc.error(f"a category has at most 100 characters, got {len(text)}", column)
    return text or None


def _records_from_mapping(
    row: dict[str, Any], loc: Loc, fmt: str
) -> tuple[list[OutputRecord], PairRecord | None]:
    pid = _name(row.get("prompt_id"), loc, "prompt_id")
    prompt = _text(row.get("prompt"), loc, "prompt", required=True)
    ref = _text(row.get("reference"), loc, "reference", required=False) or None
    cat = _category(row.get("category"), loc, "category")
    if fmt == "long":
        system = _system(row.get("system"), loc, "system")
        out = _text(row.get("output"), loc, "output", required=False)
        return [OutputRecord(loc, pid, prompt, ref, system, out, cat)], None
    sa = _system(row.get("system_a"), loc, "system_a")
    sb = _system(row.get("system_b"), loc, "system_b")
    if sa == sb:
        raise loc.error(f"system {sa!r} is on both sides of the pair", "system_b")
    oa = _text(row.get("output_a"), loc, "output_a", required=False)
    ob = _text(row.get("output_b"), loc, "output_b", required=False)
    outs = [
        OutputRecord(loc, pid, prompt, ref, sa, oa, cat),
        OutputRecord(loc, pid, prompt, ref, sb, ob, cat),
    ]
    return outs, PairRecord(loc, pid, sa, sb)


def _format_of(columns: set[str], name: str, line: int) -> str:
    if "system_a" in columns or "system_b" in columns:
        missing = [c for c in PAIR_COLUMNS if c not in columns]
        fmt = "pairs"
    else:
        missing = [c for c in LONG_COLUMNS if c not in columns]
        fmt = "long"
    if missing:
        raise FileInputError(
            name,
            f"missing column(s) {', '.join(missing)} for the {fmt} format "
            f"(long: {', '.join(LONG_COLUMNS)}; pairs: {', '.join(PAIR_COLUMNS)}; "
            "optional: reference, category)",
            line=line,
        )
    return fmt


def _parse_csv(name: str, text: str) -> ParsedFile:
    header, rows = csv_records(name, text)
    fmt = _format_of(set(header), name, 1)
    outputs: list[OutputRecord] = []
    pairs: list[PairRecord] = []
    for line, row in rows:
        outs, pair = _records_from_mapping(row, Loc(name, line), fmt)
        outputs += outs
        if pair:
            pairs.append(pair)
    return ParsedFile(name, fmt, outputs, pairs)


def _parse_jsonl(name: str, text: str) -> ParsedFile:
    outputs: list[OutputRecord] = []
    pairs: list[PairRecord] = []
    fmt: str | None = None
    for lineno, row in jsonl_records(name, text):
        row_fmt = _format_of(set(row), name, lineno)
        if fmt is None:
            fmt = row_fmt
        elif row_fmt != fmt:
            raise FileInputError(
                name,
                f"this line is in the {row_fmt} format but earlier lines are {fmt}",
                line=lineno,
            )
        outs, pair = _records_from_mapping(row, Loc(name, lineno), fmt)
        outputs += outs
        if pair:
            pairs.append(pair)
    if fmt is None:
        raise FileInputError(name, "the file has no records", line=1)
    return ParsedFile(name, fmt, outputs, pairs)


def alpaca_prompt_id(instruction: str) -> str:
    """alpaca_eval files carry no ids: the instruction's hash joins files of different systems."""
    return "alpaca-" + hashlib.sha1(instruction.encode()).hexdigest()[:12]


ANNOTATION_FIELDS = ("instruction", "output_1", "generator_1", "output_2", "generator_2")


def _alpaca_annotation(item: dict[str, Any], loc: Loc) -> tuple[list[OutputRecord], PairRecord]:
    """One comparison of AlpacaEval's annotations.json: both outputs, and their pair stored
    SYSTEM vs BASELINE (generator_2, the model, as A; generator_1, the reference, as B)."""
    instruction = _text(item["instruction"], loc, "instruction", required=True)
    extra = _text(item.get("input"), loc, "input", required=False)
    prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
    pid, cat = alpaca_prompt_id(prompt), _category(item.get("dataset"), loc, "dataset")
    outs = [
        OutputRecord(
            loc,
            pid,
            prompt,
            None,
            _text(item[f"generator_{k}"], loc, f"generator_{k}", required=True).strip(),
            _text(item[f"output_{k}"], loc, f"output_{k}", required=False),
            cat,
        )
        for k in (2, 1)
    ]
    if outs[0].system == outs[1].system:
        raise loc.error(f"system {outs[0].system!r} is on both sides", "generator_2")
    return outs, PairRecord(loc, pid, outs[0].system, outs[1].system)


def _parse_alpaca(name: str, text: str) -> ParsedFile:
    outputs: list[OutputRecord] = []
    pairs: list[PairRecord] = []
    for line, item in json_records(name, text, expected="{instruction, output, generator} objects"):
        loc = Loc(name, line)
        if "output" not in item and all(k in item for k in ANNOTATION_FIELDS):
            outs, pair = _alpaca_annotation(item, loc)
            outputs += outs
            pairs.append(pair)
            continue
        missing = [k for k in ("instruction", "output", "generator") if k not in item]
        if missing:
            raise loc.error(f"missing field(s) {', '.join(missing)}", missing[0])
        instruction = _text(item["instruction"], loc, "instruction", required=True)
        extra = _text(item.get("input"), loc, "input", required=False)
        prompt = f"{instruction}\n\n{extra}" if extra.strip() else instruction
        outputs.append(
            OutputRecord(
                loc,
                alpaca_prompt_id(prompt),
                prompt,
                _text(item.get("reference"), loc, "reference", required=False) or None,
                _name(item["generator"], loc, "generator"),
                _text(item["output"], loc, "output", required=False),
                _category(item.get("category", item.get("dataset")), loc, "dataset"),
            )
        )
    if not outputs:
        raise FileInputError(name, "the file has no records", line=1)
    return ParsedFile(name, "alpaca_eval", outputs, pairs)


def parse_source(name: str, data: bytes) -> ParsedFile:
    """Parse one file by its extension (.csv, .jsonl/.ndjson, .json)."""
    suffix = PurePath(name).suffix.lower()
    parsers = {".csv": _parse_csv, ".jsonl": _parse_jsonl, ".ndjson": _parse_jsonl}
    if suffix == ".json":
        parser = _parse_alpaca
    elif suffix in parsers:
        parser = parsers[suffix]
    else:
        raise FileInputError(
            name, f"unknown file type {suffix or '(none)'!r}: expected .csv, .jsonl or .json"
        )
    parsed = parser(name, decode(name, data))
    _check_consistency(parsed)
    return parsed


def _check_consistency(parsed: ParsedFile) -> None:
    """Within one file: one prompt text per prompt_id; one output per (prompt_id, system)."""
    prompts: dict[str, OutputRecord] = {}
    seen: dict[tuple[str, str], OutputRecord] = {}
    differing: dict[tuple[str, str], tuple[OutputRecord, list[OutputRecord]]] = {}
    for rec in parsed.outputs:
        first = prompts.setdefault(rec.prompt_id, rec)
        if first.prompt != rec.prompt:
            raise rec.loc.error(
                f"prompt_id {rec.prompt_id!r} has a different prompt text than on line "
                f"{first.loc.line}",
                "prompt",
            )
        if rec.category and first.category and rec.category != first.category:
            raise rec.loc.error(
                f"prompt_id {rec.prompt_id!r} has category {rec.category!r} here but "
                f"{first.category!r} on line {first.loc.line}",
                "category",
            )
        key = (rec.prompt_id, rec.system)
        if key in seen:
            prev = seen[key]
            # The pairs format repeats an output in every pair it is in: fine if identical.
            if parsed.format != "pairs":
                raise rec.loc.error(
                    f"duplicate prompt_id {rec.prompt_id!r} for system {rec.system!r} "
                    f"(first on line {prev.loc.line})",
                    "prompt_id",
                )
            if prev.output != rec.output:
                differing.setdefault(key, (prev, []))[1].append(rec)
        else:
            seen[key] = rec
    if differing:
        raise _differing_outputs(list(differing.values()))


#: Cells listed in one "different output" message; the rest are counted.
MAX_DIFFERING = 20


def describe_difference(first: str, second: str) -> str:
    """What differs between two texts of one output, in a few words.

    >>> describe_difference("", "Paris.")
    'empty there, 6 characters here'
    >>> describe_difference("The answer is 4", "The answer")
    'here a truncated copy (10 of 15 characters)'
    >>> describe_difference("abc", "abd")
    'both 3 characters, first different at character 3'
    """
    if not first.strip() or not second.strip():
        there = "empty" if not first.strip() else f"{len(first)} characters"
        here = "empty" if not second.strip() else f"{len(second)} characters"
        return f"{there} there, {here} here"
    if first.startswith(second) or second.startswith(first):
        short, long_ = sorted((first, second), key=len)
        where = "here" if short is second else "there"
        return f"{where} a truncated copy ({len(short)} of {len(long_)} characters)"
    at = next(i for i, (x, y) in enumerate(zip(first, second, strict=False)) if x != y)
    sizes = (
        f"both {len(first)} characters"
        if len(first) == len(second)
        else f"{len(first)} characters there, {len(second)} here"
    )
    return f"{sizes}, first different at character {at + 1}"


def _differing_outputs(
    cells: list[tuple[OutputRecord, list[OutputRecord]]],
) -> FileInputError:
    """One error listing every (prompt_id, system) whose output text changes between pairs
    of the same prompt (up to MAX_DIFFERING cells), each line that differs from the cell's
    first text, and what differs."""
    first = cells[0][1][0]
    lines = [
        f"line {prev.loc.line}: prompt_id {prev.prompt_id!r}, system {prev.system!r} differs on "
        + "; ".join(
            f"line {rec.loc.line} ({describe_difference(prev.output, rec.output)})" for rec in recs
        )
        for prev, recs in cells[:MAX_DIFFERING]
    ]
    more = len(cells) - len(lines)
    return first.loc.error(
        f"{len(cells)} (prompt_id, system) cell(s) have a different output text in two pairs "
        "of the same prompt; a system has one answer per prompt, so give each pair its own "
        "prompt_id (e.g. a row number) or make the texts equal:\n"
        + "\n".join(lines)
        + (f"\n... and {more} more" if more else "")
    )
