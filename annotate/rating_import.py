"""Import human ratings made elsewhere (``sidebyside import-ratings``), all or nothing.

A CSV, TSV, JSONL or JSON (array) file with one rating per row: ``prompt_id, system_a,
system_b, annotator, winner`` where ``winner`` is ``a``, ``b``, ``tie`` or one of the two
system names, or a graded label in the file's order of system_a / system_b (``A>>B``,
``A>B``, ``A=B``, ``B>A``, ``B>>A``; see ``foundation.grading``); optional
``<criterion>_a`` / ``<criterion>_b`` scores (the rubric's criteria, any case;
``crit:<criterion>:a`` / ``:b`` as the export names a criterion such as ``system``) for
system_a and system_b, ``comment``, ``time_spent_s`` and ``created_at`` (ISO 8601). The
columns that ``sidebyside export --what ratings`` adds (rating_id, pair_id,
shown_left, …) are accepted and ignored, so an export re-imports.

The pair must already exist (import the outputs first); its canonical order may be either
way round. Annotators that do not exist are created as accounts that cannot log in. Every row
is checked before anything is written; the first problem raises ``FileInputError``
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

from sidebyside.analysis.columns import parse_score_column
from sidebyside.annotate.auth import USERNAME
from sidebyside.annotate.sources import Loc
from sidebyside.foundation.enums import Preference
from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.grading import LABELS, parse_label
from sidebyside.foundation.models import Output, Pair, Prompt, Rating, Study, System, User, utcnow
from sidebyside.foundation.readers import Table, decode, parse_table, table_format
from sidebyside.foundation.rubric import Rubric

REQUIRED = ("prompt_id", "system_a", "system_b", "annotator", "winner")
OPTIONAL = ("comment", "time_spent_s", "created_at")
#: The winner words a file may use, in the file's order of system_a / system_b.
_PREFERENCES = {p.value: p for p in Preference}
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
    "grade",  # read in place of winner when given (a graded study's export)
)


@dataclass
class RatingsImportReport:
    ratings_added: int = 0
    annotators_created: list[str] = field(default_factory=list)
    #: Graded values turned into their direction (a five-level file in a three-level study,
    #: with ``map_grades``).
    grades_mapped: int = 0

    def summary(self) -> str:
        text = f"{self.ratings_added} ratings imported"
        if self.grades_mapped:
            text += (
                f"; {self.grades_mapped} graded values mapped to three levels (A>>B and A>B "
                "became a, B>A and B>>A became b): the study rates on three levels"
            )
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
        raise FileInputError(name, "the file has no ratings", line=1)
    return table


def _criterion_columns(name: str, columns: list[str], rubric: Rubric) -> dict[str, tuple]:
    """Map file column ─► (criterion, side); unknown columns are an error."""
    known = set(REQUIRED) | set(OPTIONAL) | set(EXPORT_ONLY)
    out = {}
    for col in columns:
        if col in known:
            continue
        if score := parse_score_column(col, rubric.names):
            out[col] = score
            continue
        raise FileInputError(
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


@dataclass(frozen=True)
class _StudyIndex:
    """What a row may name in the study, looked up once per file."""

    prompts: dict[str, int]  # external id ─► prompt id
    systems: dict[str, int]  # name ─► system id
    pairs: dict[tuple[int, int, int], int]  # (prompt, system a, system b) ─► pair id
    users: dict[str, User]  # every account, by username
    rated: set[tuple[int, int]]  # (pair id, user id) already rated in the study


@dataclass
class _Planned:
    """One validated row, in the pair's canonical order, ready to write."""

    pair_id: int
    annotator: str
    preference: str
    strength: int | None
    mapped: bool
    scores: dict[str, dict[str, int]]
    comment: str
    time_spent_s: float | None
    created_at: datetime


def import_ratings(
    session: Session, *, study: Study, name: str, data: bytes, map_grades: bool = False
) -> RatingsImportReport:
    """Validate every row of one file, then write all ratings in one transaction. A graded
    value (``A>>B``) in a three-level study is refused, or with ``map_grades`` kept as its
    direction (the report counts them)."""
    rubric = Rubric.model_validate(study.rubric)
    table = _read(name, data)
    crit_cols = _check_columns(name, table, rubric)
    index = _study_index(session, study)
    seen: dict[tuple[int, str], int] = {}  # (pair id, annotator) ─► line, within the file
    planned = []
    for line, record in table.records:
        row = _plan_row(Loc(name, line), record, study, rubric, crit_cols, index, map_grades)
        _check_not_rated(Loc(name, line), row, seen, index)
        planned.append(row)
    return _write(session, study, planned, index.users)


def _check_columns(name: str, table: Table, rubric: Rubric) -> dict[str, tuple[str, str]]:
    """The criterion score columns, once the header has every required column (a JSON
    record's missing key is reported on its own line) and nothing unknown."""
    if table.format not in ("jsonl", "json"):
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing:
            raise FileInputError(
                name,
                f"missing column(s) {', '.join(missing)}; need {', '.join(REQUIRED)}",
                line=1,
            )
    crit_cols = _criterion_columns(name, table.columns, rubric)
    if not table.records:
        raise FileInputError(name, "the file has no ratings", line=2)
    return crit_cols


def _study_index(session: Session, study: Study) -> _StudyIndex:
    prompts = session.execute(
        select(Prompt.external_id, Prompt.id).where(Prompt.study_id == study.id)
    ).all()
    systems = session.execute(
        select(System.name, System.id).where(System.study_id == study.id)
    ).all()
    oa, ob = aliased(Output), aliased(Output)
    pairs = session.execute(
        select(Pair.id, Pair.prompt_id, oa.system_id, ob.system_id)
        .join(oa, oa.id == Pair.output_a_id)
        .join(ob, ob.id == Pair.output_b_id)
        .where(Pair.study_id == study.id)
    ).all()
    rated = session.execute(
        select(Rating.pair_id, Rating.user_id).where(Rating.study_id == study.id)
    ).all()
    return _StudyIndex(
        prompts=dict(prompts),
        systems=dict(systems),
        pairs={(prompt_id, sa, sb): pid for pid, prompt_id, sa, sb in pairs},
        users={u.username: u for u in session.execute(select(User)).scalars()},
        rated=set(rated),
    )


def _plan_row(
    loc: Loc,
    record: dict[str, Any],
    study: Study,
    rubric: Rubric,
    crit_cols: dict[str, tuple[str, str]],
    index: _StudyIndex,
    map_grades: bool = False,
) -> _Planned:
    """One row checked cell by cell, in the order its problems are reported."""
    cells = _required_cells(loc, record)
    sa, sb = cells["system_a"], cells["system_b"]
    pair_id, flipped = _find_pair(loc, cells["prompt_id"], sa, sb, study, index)
    annotator = cells["annotator"]
    if not USERNAME.match(annotator):
        raise loc.error(
            f"invalid annotator name {annotator!r}: use 1-100 letters, digits, "
            "'_', '.', '@' or '-'",
            "annotator",
        )
    # A graded export's ``grade`` (A>>B .. B>>A, system_a vs system_b) carries the grade the
    # winner's system name cannot.
    winner = _text(record.get("grade")) or cells["winner"]
    pref, strength, mapped = _graded(loc, winner, sa, sb, study, map_grades)
    scores = _scores(loc, record, crit_cols, rubric)
    if flipped:
        pref = {Preference.A: Preference.B, Preference.B: Preference.A}.get(pref, pref)
        scores = {c: {{"a": "b", "b": "a"}[s]: x for s, x in d.items()} for c, d in scores.items()}
    return _Planned(
        pair_id=pair_id,
        annotator=annotator,
        preference=pref,
        strength=strength,
        mapped=mapped,
        scores=scores,
        comment=_text(record.get("comment")),
        time_spent_s=_time_spent(loc, _text(record.get("time_spent_s"))),
        created_at=_created_at(loc, _text(record.get("created_at"))),
    )


def _required_cells(loc: Loc, record: dict[str, Any]) -> dict[str, str]:
    cells = {c: _text(record.get(c)) for c in REQUIRED}
    for c in REQUIRED:
        if not cells[c]:
            raise loc.error(f"{c!r} is empty" if c in record else f"missing {c!r}", c)
    return cells


def _find_pair(
    loc: Loc, ext: str, sa: str, sb: str, study: Study, index: _StudyIndex
) -> tuple[int, bool]:
    """The pair of prompt ``ext`` showing ``sa`` and ``sb``, and whether it is stored the
    other way round."""
    if ext not in index.prompts:
        raise loc.error(f"unknown prompt_id {ext!r} in study {study.name!r}", "prompt_id")
    for col, sys_name in (("system_a", sa), ("system_b", sb)):
        if sys_name not in index.systems:
            known = ", ".join(index.systems)
            raise loc.error(f"unknown system {sys_name!r} (systems: {known})", col)
    if sa == sb:
        raise loc.error(f"system {sa!r} is on both sides", "system_b")
    prompt, a, b = index.prompts[ext], index.systems[sa], index.systems[sb]
    pair_id = index.pairs.get((prompt, a, b))
    if pair_id is not None:
        return pair_id, False
    pair_id = index.pairs.get((prompt, b, a))
    if pair_id is None:
        raise loc.error(
            f"prompt {ext!r} has no pair of {sa!r} and {sb!r} in this study; "
            "import or pair those outputs first",
            "system_b",
        )
    return pair_id, True


def _preference(loc: Loc, winner: str, sa: str, sb: str) -> Preference:
    """``a``, ``b`` or ``tie`` in the file's order, from those words or a system's name."""
    pref = _PREFERENCES.get(winner.lower())
    if pref is None:
        pref = Preference.A if winner == sa else Preference.B if winner == sb else None
    if pref is None:
        raise loc.error(f"winner {winner!r} is not a, b, tie, {sa!r} or {sb!r}", "winner")
    return pref


def _graded(
    loc: Loc, winner: str, sa: str, sb: str, study: Study, map_grades: bool
) -> tuple[Preference, int | None, bool]:
    """(direction, strength, mapped) of a winner cell, checked against the study's levels."""
    parsed = parse_label(winner)
    if parsed is None:
        pref = _preference(loc, winner, sa, sb)
        if study.preference_levels == 5 and pref != Preference.TIE:
            raise loc.error(
                f"study {study.name!r} rates on five levels: give the grade of {winner!r} "
                f"as {', '.join(LABELS)} (A = system_a {sa!r}, B = system_b {sb!r})",
                "winner",
            )
        return pref, None, False
    direction, strength = parsed
    pref = Preference(direction)
    if study.preference_levels == 3 and strength is not None:
        if not map_grades:
            raise loc.error(
                f"graded value {winner!r} in study {study.name!r}, which rates on three "
                "levels: refused (pass --map-grades to keep only its direction, or create "
                "the study with --preference-levels 5)",
                "winner",
            )
        return pref, None, True
    return pref, strength, False


def _scores(
    loc: Loc, record: dict[str, Any], crit_cols: dict[str, tuple[str, str]], rubric: Rubric
) -> dict[str, dict[str, int]]:
    """criterion ─► side ─► whole-number score on the rubric's scale; empty cells skipped."""
    scores: dict[str, dict[str, int]] = {}
    for col, (criterion, side) in crit_cols.items():
        raw = _text(record.get(col))
        if not raw:
            continue
        try:
            num = float(raw)
        except ValueError:
            raise loc.error(f"score {raw!r} is not a number", col) from None
        if not num.is_integer() or not rubric.scale_min <= num <= rubric.scale_max:
            raise loc.error(
                f"score {raw!r} is not a whole number from {rubric.scale_min} to "
                f"{rubric.scale_max}",
                col,
            )
        scores.setdefault(criterion, {})[side] = int(num)
    return scores


def _time_spent(loc: Loc, raw: str) -> float | None:
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        raise loc.error("time_spent_s is not a number", "time_spent_s") from None
    if seconds < 0 or not math.isfinite(seconds):
        raise loc.error("time_spent_s must be a non-negative number", "time_spent_s")
    return seconds


def _created_at(loc: Loc, raw: str) -> datetime:
    """The row's time in UTC (a time without an offset is taken as UTC); now when empty."""
    if not raw:
        return utcnow()
    try:
        created = datetime.fromisoformat(raw)
    except ValueError:
        raise loc.error("created_at is not an ISO 8601 date-time", "created_at") from None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return created.astimezone(UTC)


def _check_not_rated(
    loc: Loc, row: _Planned, seen: dict[tuple[int, str], int], index: _StudyIndex
) -> None:
    """One rating per annotator and pair: neither twice in the file nor already stored."""
    dup = seen.get((row.pair_id, row.annotator))
    if dup is not None:
        raise loc.error(
            f"annotator {row.annotator!r} already rated this pair on line {dup}", "annotator"
        )
    seen[(row.pair_id, row.annotator)] = loc.line
    user = index.users.get(row.annotator)
    if user is not None and (row.pair_id, user.id) in index.rated:
        raise loc.error(
            f"annotator {row.annotator!r} already has a rating of this pair in the "
            "study; remove the line or the existing rating",
            "annotator",
        )


def _write(
    session: Session, study: Study, planned: list[_Planned], users: dict[str, User]
) -> RatingsImportReport:
    """New annotators (who cannot log in), then every rating, in one savepoint."""
    report = RatingsImportReport()
    with session.begin_nested():  # all or nothing; the caller's unit of work commits
        for annotator in dict.fromkeys(p.annotator for p in planned):
            if annotator not in users:
                users[annotator] = User(username=annotator, password_hash=None, role="annotator")
                session.add(users[annotator])
                report.annotators_created.append(annotator)
        session.flush()
        for p in planned:
            session.add(
                Rating(
                    study_id=study.id,
                    pair_id=p.pair_id,
                    user_id=users[p.annotator].id,
                    preference=p.preference,
                    strength=p.strength,
                    scores=p.scores,
                    comment=p.comment,
                    time_spent_s=p.time_spent_s,
                    created_at=p.created_at,
                    swapped=None,
                    source="import",
                )
            )
    report.ratings_added = len(planned)
    report.grades_mapped = sum(p.mapped for p in planned)
    return report


def import_ratings_path(
    session: Session, *, study: Study, path: str | Path, map_grades: bool = False
):
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileInputError(str(path), f"cannot read the file: {exc.strerror}") from None
    return import_ratings(session, study=study, name=str(path), data=data, map_grades=map_grades)
