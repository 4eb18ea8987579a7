"""Study rows: create, look up, configure. The caller's unit of work commits."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Rating, Study
from sidebyside.foundation.rubric import Rubric, default_rubric


def create_study(
    session: Session,
    *,
    name: str,
    rubric: Rubric | None = None,
    k: int = 3,
    seed: int | None = None,
    description: str = "",
) -> Study:
    """Create a study; the name must be new."""
    name = name.strip()
    if not name:
        raise InputError("a study needs a non-empty name")
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    if session.exec(select(Study).where(Study.name == name)).first() is not None:
        raise InputError(f"a study named {name!r} already exists")
    study = Study(
        name=name,
        description=description,
        rubric=(rubric or default_rubric()).model_dump(),
        k=k,
        seed=secrets.randbelow(2**31) if seed is None else seed,
    )
    try:
        with session.begin_nested():  # a study of that name made meanwhile is the same error
            session.add(study)
    except IntegrityError:
        raise InputError(f"a study named {name!r} already exists") from None
    return study


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
) -> Study:
    """Change a study's settings. The rubric is frozen once the first rating exists, because
    ratings already given were against the old one."""
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
    session.add(study)
    session.flush()
    return study
