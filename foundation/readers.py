"""The one reader of input files (CSV, TSV, JSONL, JSON), with one error type.

Every importer (outputs, ratings, judge verdicts, metric inputs) reads through here, so a bad
file is always reported the same way: ``FileInputError`` (``foundation.errors``) naming the
file, the line and, where the format allows, the column (a number, or a column name once the
record is known).

>>> table = read_table("r.csv", b"id,text\\n1,hello\\n\\n2,world\\n")
>>> table.format, table.columns, table.records[1]
('csv', ['id', 'text'], (4, {'id': '2', 'text': 'world'}))
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from sidebyside.foundation.errors import FileInputError

#: Largest CSV field accepted (characters): the upload limit, so one long output is not
#: refused by csv's default 128 KiB cap.
MAX_FIELD_CHARS = 256 * 1024 * 1024

#: File extension -> format read_table parses it as.
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json"}

# Only real line breaks: str.splitlines also splits on U+2028, form feed, ..., which JSON
# strings and prose may contain raw.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

Record = tuple[int, dict[str, Any]]

#: Arrays or objects nested so deep that the JSON reader cannot follow: refused, not crashed on.
_TOO_DEEP = (
    "malformed JSON: arrays/objects nested too deeply (more than about 1,000 levels); "
    "records are flat objects of text fields"
)


class _DuplicateKey(ValueError):
    """A JSON object naming one key twice (json keeps the last value silently)."""


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(
                f"the key {key!r} appears twice in one object (a duplicate CSV header is "
                "refused the same way): keep one"
            )
        seen[key] = value
    return seen


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_no_duplicate_keys)


def json_document(name: str, text: str) -> Any:
    """One JSON document (a rubric, a settings file): malformed JSON, nesting too deep for
    the parser and duplicate keys raise ``FileInputError`` with their place.

    >>> try:
    ...     json_document("r.json", '{"a": 1,\\n "a": 2}')
    ... except FileInputError as exc:
    ...     print(exc.message[:33])
    the key 'a' appears twice in one
    """
    try:
        return _loads(text)
    except json.JSONDecodeError as exc:
        raise FileInputError(name, f"malformed JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise FileInputError(name, _TOO_DEEP) from None
    except _DuplicateKey as exc:
        raise FileInputError(name, str(exc)) from None


@dataclass
class Table:
    """A file's records: ``columns`` is the CSV header, or every key in order of appearance."""

    format: str  # "csv" | "tsv" | "jsonl" | "json"
    columns: list[str]
    records: list[Record] = field(default_factory=list)


def decode(name: str, data: bytes) -> str:
    """UTF-8 text (a leading BOM dropped); bytes that are not UTF-8 raise with their place.

    >>> try:
    ...     decode("a.csv", b"x\\ncaf\\xe9")
    ... except FileInputError as exc:
    ...     print(exc.where)
    a.csv, line 2, column 4
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line_start = before.rfind(b"\n") + 1
        # The column counts characters: everything before the bad byte did decode.
        column = len(before[line_start:].decode("utf-8-sig")) + 1
        raise FileInputError(
            name,
            f"bytes {data[exc.start : exc.end]!r} are not valid UTF-8; save the file as UTF-8",
            line=before.count(b"\n") + 1,
            column=column,
        ) from None
    nul = text.find("\x00")
    if nul >= 0:  # no text format has them; a database would store them or choke on them
        line_start = text.rfind("\n", 0, nul) + 1
        raise FileInputError(
            name,
            "a NUL byte (\\x00) is not text: is this a binary file, or saved as UTF-16?",
            line=text.count("\n", 0, nul) + 1,
            column=nul - line_start + 1,
        )
    return text


def read_utf8(path: str | Path) -> str:
    """A text file's content; a missing or unreadable file or non-UTF-8 bytes raise."""
    path = Path(path)
    if not path.is_file():
        raise FileInputError(str(path), "no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileInputError(str(path), f"cannot read the file: {exc.strerror or exc}") from None
    return decode(str(path), data)


def text_lines(text: str) -> list[str]:
    """Lines split at \\n, \\r\\n or \\r only; no empty last line for a final line break.

    >>> text_lines("a\\u2028b\\r\\n\\nc\\n")
    ['a\\u2028b', '', 'c']
    """
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def jsonl_records(name: str, text: str) -> list[Record]:
    """(line number, object) for each non-blank line; the first bad line raises."""
    records = []
    for lineno, line in enumerate(text_lines(text), start=1):
        if not line.strip():
            continue
        try:
            row = _loads(line)
        except json.JSONDecodeError as exc:
            raise FileInputError(name, f"malformed JSON: {exc.msg}", lineno, exc.colno) from None
        except RecursionError:
            raise FileInputError(name, _TOO_DEEP, lineno) from None
        except _DuplicateKey as exc:
            raise FileInputError(name, str(exc), lineno) from None
        if not isinstance(row, dict):
            raise FileInputError(name, f"expected a JSON object, got {_json_type(row)}", lineno, 1)
        records.append((lineno, row))
    return records


def json_records(name: str, text: str, *, expected: str = "objects") -> list[Record]:
    """(line number, object) for each item of a JSON array of objects; anything else raises
    with line and column. ``expected`` describes the objects in that error."""
    try:
        document = json.loads(text)  # validates it all, with the place of the first error
    except json.JSONDecodeError as exc:
        raise FileInputError(name, f"malformed JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise FileInputError(name, _TOO_DEEP) from None
    decoder = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)
    lineno, counted = 1, 0

    def where(pos: int) -> tuple[int, int]:
        nonlocal lineno, counted  # count line breaks incrementally: big files stay linear
        lineno += text.count("\n", counted, pos)
        counted = pos
        return lineno, pos - (text.rfind("\n", 0, pos) + 1) + 1

    pos = len(text) - len(text.lstrip())
    if not isinstance(document, list):
        found = _json_type(document)
        raise FileInputError(name, f"expected a JSON array of {expected}, got {found}", *where(pos))
    pos += 1
    records = []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return records
        line, column = where(pos)
        try:
            item, end = decoder.raw_decode(text, pos)
        except _DuplicateKey as exc:
            raise FileInputError(name, str(exc), line, column) from None
        if not isinstance(item, dict):
            raise FileInputError(name, f"expected an object, got {_json_type(item)}", line, column)
        records.append((line, item))
        pos = end


def csv_records(name: str, text: str, *, delimiter: str = ",") -> tuple[list[str], list[Record]]:
    """(header, [(line, row)]) of a CSV file. The line is where the row starts (cells may span
    lines); blank rows are skipped; a row with the wrong number of fields, an unterminated
    quote or stray quote characters raise instead of being read as something else."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
    # strict: without it an unclosed quote silently swallows the rest of the file as one field
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    start = 1
    try:
        header = next(reader, None)
        if header is None:
            raise FileInputError(name, "the file is empty", line=1)
        header = [h.strip() for h in header]
        for column in header:
            if header.count(column) > 1:
                raise FileInputError(name, f"column {column!r} appears twice", 1, column)
        records = []
        start = reader.line_num + 1
        for cells in reader:
            if any(c.strip() for c in cells):
                if len(cells) != len(header):
                    raise FileInputError(
                        name, f"expected {len(header)} fields, found {len(cells)}", line=start
                    )
                records.append((start, dict(zip(header, cells, strict=True))))
            start = reader.line_num + 1
    except csv.Error as exc:
        if "end of data" in str(exc):  # the quote opened in this row runs to the end of file
            raise FileInputError(
                name, "malformed CSV: a quoted field in this row is never closed", line=start
            ) from None
        raise FileInputError(name, f"malformed CSV: {exc}", line=reader.line_num) from None
    return header, records


def table_format(name: str) -> str | None:
    """The format read_table would read ``name`` as, from its extension; None if unknown."""
    return FORMATS.get(PurePath(name).suffix.lower())


def parse_table(name: str, text: str, fmt: str) -> Table:
    """Records of decoded text in a known format (see ``FORMATS``)."""
    if fmt in ("csv", "tsv"):
        header, records = csv_records(name, text, delimiter="\t" if fmt == "tsv" else ",")
        return Table(fmt, header, records)
    if fmt == "jsonl":
        records = jsonl_records(name, text)
    elif fmt == "json":
        records = json_records(name, text)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    columns = list(dict.fromkeys(key for _, record in records for key in record))
    return Table(fmt, columns, records)


def read_table(name: str, data: bytes) -> Table:
    """Decode and parse a file by its extension (.csv, .tsv, .jsonl/.ndjson, .json)."""
    fmt = table_format(name)
    if fmt is None:
        suffix = PurePath(name).suffix.lower() or "(none)"
        raise FileInputError(
            name, f"unknown file type {suffix!r}: expected .csv, .tsv, .jsonl or .json"
        )
    return parse_table(name, decode(name, data), fmt)


def _json_type(value: Any) -> str:
    """JSON's name for a parsed value's type (an 'array', not a 'list')."""
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
