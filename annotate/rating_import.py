"""Import human ratings made elsewhere (``sidebyside import-ratings``), all or nothing.

A CSV, TSV, JSONL or JSON (array) file with one rating per row: ``prompt_id, system_a,
system_b, annotator, winner`` where ``winner`` is ``a``, ``b``, ``tie`` or one of the two
system names; optional ``<criterion>_a`` / ``<criterion>_b`` scores (the rubric's criteria,
any case) for system_a and system_b, ``comment``, ``time_spent_s`` and ``created_at``
(ISO 8601). The columns that ``sidebyside export --what ratings`` adds (rating_id, pair_id,
shown_left, …) are accepted and ignored, so an export re-imports.

The pair must already exist (import the outputs first); its canonical order may be either
way round. Annotators that do not exist are created as accounts that cannot log in. Every row
is checked before anything is written; the first problem raises ``ImportValidationError``
naming the file, line and column, and the database is left unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sidebyside.annotate.auth import USERNAME
from sidebyside.annotate.sources import ImportValidationError
from sidebyside.foundation.models import Output, Pair, Prompt, Rating, Study, System, User, utcnow
from sidebyside.foundation.readers import Table, decode, parse_table, table_format
from sidebyside.foundation.rubric import Rubric

REQUIRED = ("prompt_id", "system_a", "system_b", "annotator", "winner")
OPTIONAL = ("comment", "time_spent_s", "created_at")
#: Written by ``export --what ratings``; read back without complaint and without effect.
EXPORT_ONLY = (
    "rating_id",
    "pair_id",
    "category",  # the prompt's, set when its outputs were imported
    "shown_left",
    "shown_right",
    "preference",
    "opened_at",
    "source",
    "study",
)


@dataclass
class RatingsImportReport:
    ratings_added: int = 0
    annotators_created: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = f"{self.ratings_added} ratings imported"
        if self.annotators_created:
            text += (
                f"; {len(self.annotators_created)} new annotators (cannot log in): "
                f"{', '.join(self.annotators_created)}"
            )
        return text


def _read(name: str, data: bytes) -> Table:
    """The file's records; an unknown extension is read as JSONL if it starts with '{'."""
    text = decode(name, data)
    fmt = table_format(name) or ("jsonl" if text.lstrip().startswith("{") else "csv")
    table = parse_table(name, text, fmt)
    if fmt in ("jsonl", "json") and not table.records:
        raise ImportValidationError(name, "the file has no ratings", line=1)
    return table


def _criterion_columns(name: str, columns: list[str], rubric: Rubric) -> dict[str, tuple]:
    """Map file column ─► (criterion, side); unknown columns are an error."""
    crit = {c.lower(): c for c in rubric.names}
    known = set(REQUIRED) | set(OPTIONAL) | set(EXPORT_ONLY)
    out = {}
    for col in columns:
        if col in known:
            continue
        base, _, side = col.rpartition("_")
        if side in ("a", "b") and base.lower() in crit:
            out[col] = (crit[base.lower()], side)
            continue
        raise ImportValidationError(
            name,
            f"unknown column {col!r}: expected {', '.join(REQUIRED)}, optional "
            f"{', '.join(OPTIONAL)} and criterion scores named <criterion>_a / <criterion>_b "
            f"with criteria {', '.join(rubric.names)}",
            line=1,
            column=col,
        )
    return out


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def import_ratings(
    session: Session, *, study: Study, name: str, data: bytes
) -> RatingsImportReport:
    """Validate every row of one file, then write all ratings in one transaction."""
    rubric = Rubric.model_validate(study.rubric)
    table = _read(name, data)
    columns, by_record = table.columns, table.format in ("jsonl", "json")
    if not by_record:
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise ImportValidationError(
                name,
                f"missing column(s) {', '.join(missing)}; need {', '.join(REQUIRED)}",
                line=1,
            )
    crit_cols = _criterion_columns(name, columns, rubric)
    if not table.records:
        raise ImportValidationError(name, "the file has no ratings", line=2)

    prompts = dict(
        session.execute(
            select(Prompt.external_id, Prompt.id).where(Prompt.study_id == study.id)
        ).all()
    )
    systems = dict(
        session.execute(select(System.name, System.id).where(System.study_id == study.id)).all()
    )
    oa, ob = aliased(Output), aliased(Output)
    pair_index: dict[tuple[int, int, int], int] = {
        (prompt_id, sa, sb): pid
        for pid, prompt_id, sa, sb in session.execute(
            select(Pair.id, Pair.prompt_id, oa.system_id, ob.system_id)
            .join(oa, oa.id == Pair.output_a_id)
            .join(ob, ob.id == Pair.output_b_id)
            .where(Pair.study_id == study.id)
        ).all()
    }
    users = {u.username: u for u in session.execute(select(User)).scalars()}
    existing = set(
        session.execute(
            select(Rating.pair_id, Rating.user_id).where(Rating.study_id == study.id)
        ).all()
    )

    seen: dict[tuple[int, str], int] = {}
    planned: list[dict[str, Any]] = []
    for line, v in table.records:

        def err(message: str, column: str | None = None, _line=line) -> ImportValidationError:
            return ImportValidationError(name, message, line=_line, column=column)

        if by_record:
            unknown = [
                k
                for k in v
                if k not in set(REQUIRED) | set(OPTIONAL) | set(EXPORT_ONLY) and k not in crit_cols
            ]
            if unknown:
                raise err(f"unknown key {unknown[0]!r}", unknown[0])
        cells = {c: _text(v.get(c)) for c in REQUIRED}
        for c in REQUIRED:
            if not cells[c]:
                raise err(f"{c!r} is empty" if c in v else f"missing {c!r}", c)
        ext, sa, sb = cells["prompt_id"], cells["system_a"], cells["system_b"]
        if ext not in prompts:
            raise err(f"unknown prompt_id {ext!r} in study {study.name!r}", "prompt_id")
        for col, sys_name in (("system_a", sa), ("system_b", sb)):
            if sys_name not in systems:
                raise err(f"unknown system {sys_name!r} (systems: {', '.join(systems)})", col)
        if sa == sb:
            raise err(f"system {sa!r} is on both sides", "system_b")
        key = (prompts[ext], systems[sa], systems[sb])
        flipped = key not in pair_index
        pair_id = pair_index.get(key) or pair_index.get((key[0], key[2], key[1]))
        if pair_id is None:
            raise err(
                f"prompt {ext!r} has no pair of {sa!r} and {sb!r} in this study; "
                "import or pair those outputs first",
                "system_b",
            )
        annotator = cells["annotator"]
        if not USERNAME.match(annotator):
            raise err(
                f"invalid annotator name {annotator!r}: use 1-100 letters, digits, "
                "'_', '.', '@' or '-'",
                "annotator",
            )
        w = cells["winner"]
        pref = {"a": "a", "b": "b", "tie": "tie"}.get(w.lower())
        if pref is None:
            pref = "a" if w == sa else "b" if w == sb else None
        if pref is None:
            raise err(f"winner {w!r} is not a, b, tie, {sa!r} or {sb!r}", "winner")
        scores: dict[str, dict[str, int]] = {}
        for col, (criterion, side) in crit_cols.items():
            raw = _text(v.get(col))
            if not raw:
                continue
            try:
                num = float(raw)
            except ValueError:
                raise err(f"score {raw!r} is not a number", col) from None
            if not num.is_integer() or not rubric.scale_min <= num <= rubric.scale_max:
                raise err(
                    f"score {raw!r} is not a whole number from {rubric.scale_min} to "
                    f"{rubric.scale_max}",
                    col,
                )
            scores.setdefault(criterion, {})[side] = int(num)
        if flipped:
            pref = {"a": "b", "b": "a", "tie": "tie"}[pref]
            scores = {
                c: {{"a": "b", "b": "a"}[s]: x for s, x in d.items()} for c, d in scores.items()
            }
        time_spent = None
        if _text(v.get("time_spent_s")):
            try:
                time_spent = float(_text(v.get("time_spent_s")))
            except ValueError:
                raise err("time_spent_s is not a number", "time_spent_s") from None
            if time_spent < 0 or not math.isfinite(time_spent):
                raise err("time_spent_s must be a non-negative number", "time_spent_s")
        created = utcnow()
        if _text(v.get("created_at")):
            try:
                created = datetime.fromisoformat(_text(v.get("created_at")))
            except ValueError:
                raise err("created_at is not an ISO 8601 date-time", "created_at") from None
            # timestamps are stored in UTC; a time without an offset is taken as UTC
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            created = created.astimezone(UTC)
        dup = seen.get((pair_id, annotator))
        if dup is not None:
            raise err(f"annotator {annotator!r} already rated this pair on line {dup}", "annotator")
        seen[(pair_id, annotator)] = line
        user = users.get(annotator)
        if user is not None and (pair_id, user.id) in existing:
            raise err(
                f"annotator {annotator!r} already has a rating of this pair in the "
                "study; remove the line or the existing rating",
                "annotator",
            )
        planned.append(
            {
                "pair_id": pair_id,
                "annotator": annotator,
                "preference": pref,
                "scores": scores,
                "comment": _text(v.get("comment")),
                "time_spent_s": time_spent,
                "created_at": created,
            }
        )

    report = RatingsImportReport()
    with session.begin_nested():  # all or nothing; the caller's unit of work commits
        for annotator in dict.fromkeys(p["annotator"] for p in planned):
            if annotator not in users:
                users[annotator] = User(username=annotator, password_hash=None, role="annotator")
                session.add(users[annotator])
                report.annotators_created.append(annotator)
        session.flush()
        for p in planned:
            session.add(
                Rating(
                    study_id=study.id,
                    user_id=users[p.pop("annotator")].id,
                    swapped=None,
                    source="import",
                    **p,
                )
            )
    report.ratings_added = len(planned)
    return report


def import_ratings_path(session: Session, *, study: Study, path: str | Path):
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportValidationError(str(path), f"cannot read the file: {exc.strerror}") from None
    return import_ratings(session, study=study, name=str(path), data=data)
