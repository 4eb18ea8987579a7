"""Reading prediction and reference files for ``sidebyside metrics --predictions --references``.

``.txt``: one item a line (a blank line is an empty prediction). ``.jsonl``: one object a line;
predictions in "prediction", "output" or "text", references in "references" (a list),
"reference", "label" or "text". When every record of both files has an "id", items are matched
by id; otherwise by position, and the counts must agree.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PRED_FIELDS = ("prediction", "output", "text")
REF_FIELDS = ("references", "reference", "label", "text")


def _records(path: Path, fields: tuple[str, ...]) -> list[tuple[str | None, Any]]:
    """(id or None, value) per item; ValueError naming file and line on bad input."""
    from annotate.sources import jsonl_records, read_utf8

    content = read_utf8(path)
    if path.suffix.lower() != ".jsonl":
        return [(None, line) for line in content.splitlines()]
    out = []
    for lineno, record in jsonl_records(str(path), content):
        key = next((f for f in fields if isinstance(record, dict) and f in record), None)
        if key is None:
            raise ValueError(f"{path}:{lineno}: expected an object with one of {', '.join(fields)}")
        value = record[key]
        ok = isinstance(value, str) or (
            key == "references"
            and isinstance(value, list)
            and value
            and all(isinstance(v, str) for v in value)
        )
        if not ok:
            raise ValueError(
                f"{path}:{lineno}: {key!r} must be a string"
                + (" or a non-empty list of strings" if key == "references" else "")
            )
        ident = record.get("id")
        out.append((None if ident is None else str(ident), value))
    return out


def read_pairs(predictions: Path, references: Path) -> tuple[list[str], list[Any]]:
    """Aligned (predictions, references); a reference is a string or a list of strings."""
    preds = _records(Path(predictions), PRED_FIELDS)
    refs = _records(Path(references), REF_FIELDS)
    if preds and refs and all(i is not None for i, _ in preds + refs):
        by_id = {}
        for ident, value in refs:
            if ident in by_id:
                raise ValueError(f"{references}: id {ident!r} appears twice")
            by_id[ident] = value
        missing = [i for i, _ in preds if i not in by_id]
        if missing:
            raise ValueError(
                f"{references}: no reference for id(s) {', '.join(map(repr, missing[:5]))}"
                + (" ..." if len(missing) > 5 else "")
            )
        return [v for _, v in preds], [by_id[i] for i, _ in preds]
    if len(preds) != len(refs):
        raise ValueError(
            f"{predictions} has {len(preds)} items but {references} has {len(refs)}: "
            "give one reference per prediction (or an 'id' in every JSONL record)"
        )
    return [v for _, v in preds], [v for _, v in refs]
