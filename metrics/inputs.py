"""Reading prediction and reference files for ``sidebyside metrics --predictions --references``.

``.txt``: one item a line (a blank line is an empty prediction). ``.jsonl``: one object a line;
predictions in "prediction", "output" or "text", references in "references" (a list),
"reference", "label" or "text". When every record of both files has an "id", items are matched
by id; otherwise by position, and the counts must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.readers import jsonl_records, read_utf8, text_lines

PRED_FIELDS = ("prediction", "output", "text")
REF_FIELDS = ("references", "reference", "label", "text")


def _records(path: Path, fields: tuple[str, ...]) -> list[tuple[int, str | None, Any]]:
    """(line, id or None, value) per item; FileInputError naming file and line on bad input."""
    content = read_utf8(path)
    if path.suffix.lower() != ".jsonl":
        return [(i, None, line) for i, line in enumerate(text_lines(content), start=1)]
    out = []
    for lineno, record in jsonl_records(str(path), content):
        key = next((f for f in fields if f in record), None)
        if key is None:
            raise FileInputError(
                str(path), f"expected an object with one of {', '.join(fields)}", lineno
            )
        value = record[key]
        ok = isinstance(value, str) or (
            key == "references"
            and isinstance(value, list)
            and value
            and all(isinstance(v, str) for v in value)
        )
        if not ok:
            raise FileInputError(
                str(path),
                f"{key!r} must be a string"
                + (" or a non-empty list of strings" if key == "references" else ""),
                lineno,
                key,
            )
        ident = record.get("id")
        out.append((lineno, None if ident is None else str(ident), value))
    return out


def read_pairs(predictions: Path, references: Path) -> tuple[list[str], list[Any]]:
    """Aligned (predictions, references); a reference is a string or a list of strings."""
    preds = _records(Path(predictions), PRED_FIELDS)
    refs = _records(Path(references), REF_FIELDS)
    if preds and refs and all(i is not None for _, i, _ in preds + refs):
        by_id: dict[str | None, tuple[int, Any]] = {}
        for line, ident, value in refs:
            if ident in by_id:
                first = by_id[ident][0]
                message = f"id {ident!r} appears twice (first on line {first})"
                raise FileInputError(str(references), message, line, "id")
            by_id[ident] = (line, value)
        missing = [i for _, i, _ in preds if i not in by_id]
        if missing:
            raise FileInputError(
                str(references),
                f"no reference for id(s) {', '.join(map(repr, missing[:5]))}"
                + (" ..." if len(missing) > 5 else ""),
            )
        return [v for _, _, v in preds], [by_id[i][1] for _, i, _ in preds]
    if len(preds) != len(refs):
        raise InputError(
            f"{predictions} has {len(preds)} items but {references} has {len(refs)}: "
            "give one reference per prediction (or an 'id' in every JSONL record)"
        )
    return [v for _, _, v in preds], [v for _, _, v in refs]
