"""Study rows: create, look up, configure. The caller's unit of work commits."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from sidebyside.foundation.enums import Allocation
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.grading import LEVELS
from sidebyside.foundation.models import Rating, Study, System
from sidebyside.foundation.names import clash, clean_name
from sidebyside.foundation.rubric import Rubric, default_rubric


def create_study(
    session: Session,
    *,
    name: str,
    rubric: Rubric | None = None,
    k: int = 3,
    seed: int | None = None,
    description: str = "",
    allocation: str = Allocation.UNIFORM,
    preference_levels: int = 3,
    base: str | None = None,
) -> Study:
    """Create a study; the name must be new. ``preference_levels``: 3 (A / tie / B) or 5
    (much better .. much better, ``foundation.grading``). ``base``: the system the evaluation
    card compares every other with (its outputs may come later; the card checks it is there)."""
    name = name.strip()
    if not name:
        raise InputError("a study needs a non-empty name")
    name = clean_name(name, "study name")
    others = session.exec(select(Study.name)).all()
    if other := clash(name, others):
        raise InputError(
            f"study name {name!r} differs from the existing study {other!r} only by case"
        )
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    allocation = _allocation(allocation)
    _levels(preference_levels)
    if session.exec(select(Study).where(Study.name == name)).first() is not None:
        raise InputError(f"a study named {name!r} already exists")
    study = Study(
        name=name,
        description=description,
        rubric=(rubric or default_rubric()).model_dump(),
        k=k,
        seed=secrets.randbelow(2**31) if seed is None else seed,
        allocation=allocation,
        preference_levels=preference_levels,
        base_system=clean_name(base, "base system name") if base else None,
    )
    try:
        with session.begin_nested():  # a study of that name made meanwhile is the same error
            session.add(study)
    except IntegrityError:
        raise InputError(f"a study named {name!r} already exists") from None
    return study


def _allocation(value: str) -> Allocation:
    try:
        return Allocation(value)
    except ValueError:
        choices = ", ".join(a.value for a in Allocation)
        raise InputError(f"allocation must be one of {choices}, got {value!r}") from None


def _levels(value: int) -> int:
    if value not in LEVELS:
        raise InputError(f"preference_levels must be 3 or 5, got {value!r}")
    return value


def allocation_note(session: Session, study: Study) -> str | None:
    """What to tell whoever picks adaptive allocation for a study of fewer than three
    systems: it then hands pairs out as uniform does (one system pair, nothing to choose)."""
    if study.allocation != Allocation.ADAPTIVE:
        return None
    n = session.exec(select(func.count()).select_from(System).where(System.study_id == study.id))
    systems = n.one()
    if systems >= 3:
        return None
    have = "no systems yet" if systems == 0 else f"{systems} system{'s' * (systems > 1)}"
    return (
        f"study {study.name!r} has {have}: adaptive allocation chooses between system pairs, "
        "so until it has three or more it hands pairs out exactly as uniform does"
    )


def study_has_ratings(session: Session, study_id: int) -> bool:
    n = session.exec(select(func.count()).select_from(Rating).where(Rating.study_id == study_id))
    return n.one() > 0


def update_study(
    session: Session,
    *,
    study: Study,
    rubric: Rubric | None = None,
    k: int | None = None,
    description: str | None = None,
    allocation: str | None = None,
    preference_levels: int | None = None,
    base_system: str | None = None,
) -> Study:
    """Change a study's settings (``base_system``: "" for none, i.e. the first system). The
    rubric and the allocation are frozen once the first rating exists: ratings already given
    were against the old rubric, and all of a study's votes are handed out one way, so
    whoever reads its figures knows which."""
    new_allocation = None if allocation is None else _allocation(allocation)
    changes = new_allocation is not None and new_allocation != study.allocation
    if changes and study_has_ratings(session, study.id):
        raise InputError(
            f"study {study.name!r} already has ratings; its allocation "
            f"({study.allocation}) can no longer change (create a new study to allocate "
            "its votes another way)"
        )
    if preference_levels is not None and _levels(preference_levels) != study.preference_levels:
        if study_has_ratings(session, study.id):
            raise InputError(
                f"study {study.name!r} already has ratings; its preference levels "
                f"({study.preference_levels}) can no longer change"
            )
        study.preference_levels = preference_levels
    if rubric is not None:
        if study_has_ratings(session, study.id) and rubric.model_dump() != study.rubric:
            raise InputError(
                f"study {study.name!r} already has ratings; its rubric can no longer change "
                "(create a new study for a new rubric)"
            )
        study.rubric = rubric.model_dump()
    if k is not None:
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        study.k = k
    if description is not None:
        study.description = description
    if new_allocation is not None:
        study.allocation = new_allocation
    if base_system is not None:
        study.base_system = clean_name(base_system, "base system name") if base_system else None
    session.add(study)
    session.flush()
    return study
