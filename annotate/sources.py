"""Read import files (CSV, JSONL, alpaca_eval JSON) into validated records.

Pure parsing: no database. Every problem raises ``ImportValidationError`` naming the file,
line and column, so the import can stop before it writes anything.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from foundation.readers import (
    InputError,
    csv_records,
    decode,
    json_records,
    jsonl_records,
)

LONG_COLUMNS = ("prompt_id", "prompt", "system", "output")
PAIR_COLUMNS = ("prompt_id", "prompt", "system_a", "output_a", "system_b", "output_b")


#: Kept for callers that catch it by this name: every reader error is an ``InputError``.
ImportValidationError = InputError


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    column: str | None = None

    def error(self, message: str, column: str | None = None) -> ImportValidationError:
        col = column or self.column
        return ImportValidationError(self.file, message, line=self.line, column=col)


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
        raise loc.error(f"expected text, got {type(value).__name__} {value!r}", column)
    text = value if isinstance(value, str) else str(value)
    if required and not text.strip():
        raise loc.error(f"{column!r} is empty", column)
    return text


def _category(value: Any, loc: Loc, column: str) -> str | None:
    text = _text(value, loc, column, required=False).strip()
    if len(text) > 100:
        raise loc.error(f"a category has at most 100 characters, got {len(text)}", column)
    return text or None


def _records_from_mapping(
    row: dict[str, Any], loc: Loc, fmt: str
) -> tuple[list[OutputRecord], PairRecord | None]:
    pid = _text(row.get("prompt_id"), loc, "prompt_id", required=True).strip()
    prompt = _text(row.get("prompt"), loc, "prompt", required=True)
    ref = _text(row.get("reference"), loc, "reference", required=False) or None
    cat = _category(row.get("category"), loc, "category")
    if fmt == "long":
        system = _text(row.get("system"), loc, "system", required=True).strip()
        out = _text(row.get("output"), loc, "output", required=False)
        return [OutputRecord(loc, pid, prompt, ref, system, out, cat)], None
    sa = _text(row.get("system_a"), loc, "system_a", required=True).strip()
    sb = _text(row.get("system_b"), loc, "system_b", required=True).strip()
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
        raise ImportValidationError(
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
            raise ImportValidationError(
                name,
                f"this line is in the {row_fmt} format but earlier lines are {fmt}",
                line=lineno,
            )
        outs, pair = _records_from_mapping(row, Loc(name, lineno), fmt)
        outputs += outs
        if pair:
            pairs.append(pair)
    if fmt is None:
        raise ImportValidationError(name, "the file has no records", line=1)
    return ParsedFile(name, fmt, outputs, pairs)


def alpaca_prompt_id(instruction: str) -> str:
    """alpaca_eval files carry no ids: the instruction's hash joins files of different systems."""
    return "alpaca-" + hashlib.sha1(instruction.encode()).hexdigest()[:12]


def _parse_alpaca(name: str, text: str) -> ParsedFile:
    outputs: list[OutputRecord] = []
    for line, item in json_records(name, text, expected="{instruction, output, generator} objects"):
        loc = Loc(name, line)
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
                _text(item["generator"], loc, "generator", required=True).strip(),
                _text(item["output"], loc, "output", required=False),
                _category(item.get("category", item.get("dataset")), loc, "dataset"),
            )
        )
    if not outputs:
        raise ImportValidationError(name, "the file has no records", line=1)
    return ParsedFile(name, "alpaca_eval", outputs, [])


def parse_source(name: str, data: bytes) -> ParsedFile:
    """Parse one file by its extension (.csv, .jsonl/.ndjson, .json)."""
    suffix = PurePath(name).suffix.lower()
    parsers = {".csv": _parse_csv, ".jsonl": _parse_jsonl, ".ndjson": _parse_jsonl}
    if suffix == ".json":
        parser = _parse_alpaca
    elif suffix in parsers:
        parser = parsers[suffix]
    else:
        raise ImportValidationError(
            name, f"unknown file type {suffix or '(none)'!r}: expected .csv, .jsonl or .json"
        )
    parsed = parser(name, decode(name, data))
    _check_consistency(parsed)
    return parsed


def _check_consistency(parsed: ParsedFile) -> None:
    """Within one file: one prompt text per prompt_id; one output per (prompt_id, system)."""
    prompts: dict[str, OutputRecord] = {}
    seen: dict[tuple[str, str], OutputRecord] = {}
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
            if parsed.format != "pairs" or prev.output != rec.output:
                raise rec.loc.error(
                    f"duplicate prompt_id {rec.prompt_id!r} for system {rec.system!r} "
                    f"(first on line {prev.loc.line})",
                    "prompt_id",
                )
        else:
            seen[key] = rec
