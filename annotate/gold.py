"""Gold pairs: pairs of a study with a known answer, served blind to every rater to test them.

* ``add_gold`` (``sidebyside gold add STUDY gold.jsonl``): rows ``prompt_id, system_a,
  system_b, expected`` and optionally ``tolerance`` and ``note``. ``expected`` is ``a``,
  ``b``, ``tie``, a system's name, or on a five-level study a graded label (``A>>B`` ..
  ``B>>A``) in the row's order of system_a / system_b; ``tolerance`` widens what counts as
  right: ``not A``, ``not B`` or ``not tie`` (every answer but that one, e.g. expected A with
  "not B" also accepts a tie). All or nothing; every problem names file, line and column.
* Serving (``claim_gold``, called by ``assignment.next_assignment``): a rater is handed a
  gold pair they have not seen with probability ``rate`` at each claim (seeded by the study,
  the rater and how many pairs they finished, so a reload changes nothing); with
  qualification on, their first ``qualify_n`` pairs are gold. A gold pair looks like any
  other: same page, same widgets, nothing in it says gold. It takes no place among the k
  slots of the pair (every rater may get it).
* Never counted: ``analysis.verdicts.load_pairs`` leaves gold pairs out, so no figure, no
  export and no DPO pair ever contains a rating or verdict of one.
* Per-rater accuracy with a Wilson interval: ``analysis.gold``; the qualification:
  ``qualification``.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, func, select

from sidebyside.annotate.sources import Loc
from sidebyside.foundation.enums import AssignmentStatus
from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.grading import flip, parse_label
from sidebyside.foundation.models import (
    Assignment,
    GoldPair,
    GoldSettings,
    Output,
    Pair,
    Prompt,
    Rating,
    Study,
    System,
    User,
    utcnow,
)
from sidebyside.foundation.readers import read_table

REQUIRED = ("prompt_id", "system_a", "system_b", "expected")
OPTIONAL = ("tolerance", "note")
_DIRECTIONS = {"a": "a", "b": "b", "tie": "tie"}


@dataclass
class GoldReport:
    added: int = 0
    replaced: int = 0
    pairs: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.added} gold pairs added, {self.replaced} updated"


def _cell(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value).strip()


def _direction(loc: Loc, text: str, sa: str, sb: str, study: Study) -> tuple[str, int | None]:
    """(direction in the row's order, strength) of ``expected``."""
    graded = parse_label(text)
    if graded is not None:
        if graded[1] is not None and study.preference_levels != 5:
            raise loc.error(
                f"expected preference {text!r} is graded, but study {study.name!r} rates on "
                "three levels: give a, b, tie or a system name",
                "expected",
            )
        return graded
    low = text.lower()
    if low in _DIRECTIONS:
        return _DIRECTIONS[low], None
    if text in (sa, sb):
        return ("a" if text == sa else "b"), None
    levels = "A>>B, A>B, A=B, B>A, B>>A, " if study.preference_levels == 5 else ""
    raise loc.error(
        f"expected preference {text!r} is not one of {levels}a, b, tie, {sa!r} or {sb!r}",
        "expected",
    )


def _accepted(loc: Loc, expected: str, tolerance: str, sa: str, sb: str) -> list[str]:
    """The answers (in the row's order) that count as right."""
    if not tolerance:
        return [expected]
    words = tolerance.split(None, 1)
    target = words[1].strip() if len(words) == 2 and words[0].lower() == "not" else None
    excluded = None
    if target is not None:
        excluded = {"a": "a", "b": "b", "tie": "tie"}.get(target.lower())
        excluded = excluded or ("a" if target == sa else "b" if target == sb else None)
    if excluded is None:
        raise loc.error(
            f"tolerance {tolerance!r} is not 'not A', 'not B' or 'not tie' (or empty)",
            "tolerance",
        )
    if excluded == expected:
        raise loc.error(f"tolerance {tolerance!r} excludes the expected answer itself", "tolerance")
    return [d for d in ("a", "b", "tie") if d != excluded]


def _index(session: Session, study: Study) -> dict[tuple[str, str, str], tuple[int, bool]]:
    """(prompt external id, system a, system b) ─► (pair id, stored that way round)."""
    oa, ob = aliased(Output), aliased(Output)
    sa, sb = aliased(System), aliased(System)
    rows = session.execute(
        select(Pair.id, Prompt.external_id, sa.name, sb.name)
        .join(Prompt, Prompt.id == Pair.prompt_id)
        .join(oa, oa.id == Pair.output_a_id)
        .join(ob, ob.id == Pair.output_b_id)
        .join(sa, sa.id == oa.system_id)
        .join(sb, sb.id == ob.system_id)
        .where(Pair.study_id == study.id)
    ).all()
    out = {}
    for pid, ext, a, b in rows:
        out[(ext, a, b)] = (pid, True)
        out[(ext, b, a)] = (pid, False)
    return out


def add_gold(session: Session, *, study: Study, name: str, data: bytes) -> GoldReport:
    """Mark pairs of ``study`` as gold with their expected answers (the caller commits). A
    pair already gold gets the new answer; a pair someone already rated as an ordinary pair
    is refused (its ratings are in the results: gold must never change one)."""
    table = read_table(name, data)
    if table.format in ("csv", "tsv"):
        missing = [c for c in REQUIRED if c not in table.columns]
        if missing:
            raise FileInputError(name, f"missing column(s) {', '.join(missing)}", line=1)
    unknown = [c for c in table.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise FileInputError(
            name,
            f"unknown column {unknown[0]!r}: expected {', '.join(REQUIRED)} and optionally "
            f"{', '.join(OPTIONAL)}",
            line=1,
            column=unknown[0],
        )
    if not table.records:
        raise FileInputError(name, "the file has no gold pairs", line=1)
    index = _index(session, study)
    prompts = set(session.exec(select(Prompt.external_id).where(Prompt.study_id == study.id)))
    rated = dict(
        session.execute(
            select(Rating.pair_id, func.count())
            .where(Rating.study_id == study.id)
            .group_by(Rating.pair_id)
        ).all()
    )
    current = {
        g.pair_id: g for g in session.exec(select(GoldPair).where(GoldPair.study_id == study.id))
    }
    planned: dict[int, tuple[str, int | None, list[str], str]] = {}
    for line, record in table.records:
        loc = Loc(name, line)
        cells = {c: _cell(record, c) for c in REQUIRED + OPTIONAL}
        for c in REQUIRED:
            if not cells[c]:
                raise loc.error(f"missing {c!r}", c)
        ext, sa, sb = cells["prompt_id"], cells["system_a"], cells["system_b"]
        if ext not in prompts:
            raise loc.error(f"unknown prompt_id {ext!r} in study {study.name!r}", "prompt_id")
        found = index.get((ext, sa, sb))
        if found is None:
            raise loc.error(
                f"prompt {ext!r} has no pair of {sa!r} and {sb!r} in study {study.name!r}",
                "system_b",
            )
        pair_id, as_stored = found
        if pair_id in planned:
            raise loc.error("this pair is named twice in the file", "prompt_id")
        n_rated = rated.get(pair_id, 0)
        if n_rated and pair_id not in current:
            raise loc.error(
                f"this pair already has {n_rated} rating(s) counted in the study's results; a "
                "gold pair must be one nobody has rated as an ordinary pair",
                "prompt_id",
            )
        direction, strength = _direction(loc, cells["expected"], sa, sb, study)
        accepted = _accepted(loc, direction, cells["tolerance"], sa, sb)
        if not as_stored:  # the row names the pair's sides the other way round
            direction, accepted = flip(direction), [flip(d) for d in accepted]
        planned[pair_id] = (direction, strength, sorted(accepted), cells["note"][:1000])
    report = GoldReport(pairs=sorted(planned))
    with session.begin_nested():  # all or nothing; the caller's unit of work commits
        for pair_id, (direction, strength, accepted, note) in planned.items():
            row = current.get(pair_id) or GoldPair(study_id=study.id, pair_id=pair_id)
            report.replaced += row.id is not None
            report.added += row.id is None
            row.expected, row.expected_strength = direction, strength
            row.accepted, row.note = accepted, note
            session.add(row)
    return report


def settings_of(session: Session, study_id: int) -> GoldSettings:
    """The study's gold settings (the defaults when never set: rate 0.1, no qualification)."""
    return session.get(GoldSettings, study_id) or GoldSettings(study_id=study_id)


def set_gold_settings(
    session: Session,
    *,
    study: Study,
    rate: float | None = None,
    qualify_n: int | None = None,
    qualify_min: float | None = None,
) -> GoldSettings:
    row = settings_of(session, study.id)
    if rate is not None:
        if not 0.0 <= rate <= 1.0:
            raise InputError(f"the gold rate is a share of the pairs, 0 to 1; got {rate}")
        row.rate = rate
    if qualify_n is not None:
        if qualify_n < 0:
            raise InputError(f"qualification needs 0 (off) or more gold pairs, got {qualify_n}")
        row.qualify_n = qualify_n
    if qualify_min is not None:
        if not 0.0 <= qualify_min <= 1.0:
            raise InputError(f"the qualification threshold is 0 to 1, got {qualify_min}")
        row.qualify_min = qualify_min
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another admin saved first: theirs stands, try again
        raise InputError("the gold settings were changed meanwhile; save them again") from None
    return row


def gold_pair_ids(session: Session, study_id: int) -> set[int]:
    return set(session.exec(select(GoldPair.pair_id).where(GoldPair.study_id == study_id)))


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) from the parts (stable across processes, unlike hash())."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Qualification:
    """Where a rater stands with a study's qualification."""

    required: int  # gold pairs of the qualification (0: off)
    finished: int  # of them, finished (rated or skipped)
    right: int  # of the finished ones, answered right
    threshold: float

    @property
    def decided(self) -> bool:
        return self.required > 0 and self.finished >= self.required

    @property
    def failed(self) -> bool:
        return self.decided and self.right < self.threshold * self.required - 1e-9

    def message(self) -> str:
        return (
            f"Thank you for your work. Your answers on this study's first {self.required} "
            f"check pairs did not reach the agreement it needs ({self.right} of "
            f"{self.required} matched; it needs {self.threshold:.0%}), so it has no further "
            "pairs for you."
        )


def _finished_gold(session: Session, study_id: int, user_id: int, gold: set[int]) -> list:
    """The rater's finished gold assignments, in the order they finished: (pair, status,
    preference or None)."""
    rows = session.execute(
        select(Assignment.pair_id, Assignment.status, Rating.preference)
        .outerjoin(Rating, Rating.assignment_id == Assignment.id)
        .where(
            Assignment.study_id == study_id,
            Assignment.user_id == user_id,
            Assignment.status.in_([AssignmentStatus.DONE, AssignmentStatus.SKIPPED]),
        )
        .order_by(Assignment.finished_at, Assignment.id)
    ).all()
    return [r for r in rows if r[0] in gold]


def qualification(session: Session, *, study: Study, user_id: int) -> Qualification:
    settings = settings_of(session, study.id)
    if settings.qualify_n <= 0:
        return Qualification(0, 0, 0, settings.qualify_min)
    gold = {
        g.pair_id: g for g in session.exec(select(GoldPair).where(GoldPair.study_id == study.id))
    }
    first = _finished_gold(session, study.id, user_id, set(gold))[: settings.qualify_n]
    right = sum(1 for pid, _, pref in first if pref is not None and pref in gold[pid].accepted)
    return Qualification(settings.qualify_n, len(first), right, settings.qualify_min)


def claim_gold(
    session: Session, *, study: Study, user: User, now: datetime | None = None
) -> Assignment | None:
    """A gold pair to hand this rater now, written (the caller commits); None when this
    claim is an ordinary one. See the module docstring for when."""
    gold = sorted(gold_pair_ids(session, study.id))
    if not gold:
        return None
    settings = settings_of(session, study.id)
    mine = dict(
        session.execute(
            select(Assignment.pair_id, Assignment.status).where(
                Assignment.study_id == study.id, Assignment.user_id == user.id
            )
        ).all()
    )
    finished = sum(s in (AssignmentStatus.DONE, AssignmentStatus.SKIPPED) for s in mine.values())
    finished_gold = sum(
        p in mine and mine[p] in (AssignmentStatus.DONE, AssignmentStatus.SKIPPED) for p in gold
    )
    unseen = [p for p in gold if p not in mine]
    random.Random(f"sidebyside-gold:{study.seed}:{user.id}").shuffle(unseen)
    if not unseen:
        return None
    qualifying = settings.qualify_n > 0 and finished_gold < settings.qualify_n
    if not qualifying and _unit(study.seed, user.id, finished, "gold") >= settings.rate:
        return None
    pair_id = unseen[0]
    assignment = Assignment(
        study_id=study.id,
        pair_id=pair_id,
        user_id=user.id,
        # Its own slot per rater (negative, never one of the pair's 0..k-1): a gold pair is
        # everyone's and holds no place of the k.
        slot=-user.id,
        swapped=_unit(study.seed, user.id, pair_id, "side") < 0.5,
        opened_at=now or utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(assignment)
    except IntegrityError:  # a second tab of the same rater claimed it first
        return None
    return assignment
