"""Study rows: create, look up, configure."""

from __future__ import annotations

import secrets

from sqlmodel import Session, func, select

from foundation.models import Rating, Study
from foundation.rubric import Rubric, default_rubric


def create_study(
    session: Session,
    *,
    name: str,
    rubric: Rubric | None = None,
    k: int = 3,
    seed: int | None = None,
    description: str = "",
) -> Study:
    """Create a study; the name must be new. Commits."""
    name = name.strip()
    if not name:
        raise ValueError("a study needs a non-empty name")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if session.exec(select(Study).where(Study.name == name)).first() is not None:
        raise ValueError(f"a study named {name!r} already exists")
    study = Study(
        name=name,
        description=description,
        rubric=(rubric or default_rubric()).model_dump(),
        k=k,
        seed=secrets.randbelow(2**31) if seed is None else seed,
    )
    session.add(study)
    session.commit()
    session.refresh(study)
    return study


def get_study(session: Session, ref: str | int) -> Study:
    """A study by name or numeric id; LookupError listing the known names otherwise."""
    study = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        study = session.get(Study, int(ref))
    if study is None:
        study = session.exec(select(Study).where(Study.name == str(ref))).first()
    if study is None:
        names = [s.name for s in list_studies(session)]
        known = ", ".join(repr(n) for n in names) if names else "none yet"
        raise LookupError(f"no study {ref!r} (known studies: {known})")
    return study


def list_studies(session: Session) -> list[Study]:
    return list(session.exec(select(Study).order_by(Study.id)))


def study_rubric(study: Study) -> Rubric:
    return Rubric.model_validate(study.rubric)


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
    ratings already given were against the old one. Commits."""
    if rubric is not None:
        if study_has_ratings(session, study.id) and rubric.model_dump() != study.rubric:
            raise ValueError(
                f"study {study.name!r} already has ratings; its rubric can no longer change "
                "(create a new study for a new rubric)"
            )
        study.rubric = rubric.model_dump()
    if k is not None:
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        study.k = k
    if description is not None:
        study.description = description
    session.add(study)
    session.commit()
    session.refresh(study)
    return study
