"""Finding a study by what a user types (a name or an id): shared by every feature and edge."""

from __future__ import annotations

from sqlmodel import Session, select

from sidebyside.foundation.errors import NotFound
from sidebyside.foundation.models import Study


def list_studies(session: Session) -> list[Study]:
    return list(session.exec(select(Study).order_by(Study.id)))


def get_study(session: Session, ref: str | int) -> Study:
    """A study by name or numeric id; ``NotFound`` listing the known names otherwise."""
    study = None
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        study = session.get(Study, int(ref))
    if study is None:
        study = session.exec(select(Study).where(Study.name == str(ref))).first()
    if study is None:
        names = [s.name for s in list_studies(session)]
        known = ", ".join(repr(n) for n in names) if names else "none yet"
        raise NotFound(f"no study {ref!r} (known studies: {known})")
    return study
