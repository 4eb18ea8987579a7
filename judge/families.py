"""Declared model families of a study's systems and judges, for the self-preference figures
(``analysis/self_preference.py``): does a judge favour outputs of its own family?"""

from __future__ import annotations

from sqlmodel import Session, select

from sidebyside.foundation.errors import InputError, NotFound
from sidebyside.foundation.models import ModelFamily, System


def set_families(
    session: Session,
    *,
    study_id: int,
    systems: dict[str, str] | None = None,
    judges: dict[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """Declare model families of a study's systems and judges (self-preference figures);
    returns every declared family. A system name the study lacks raises ``NotFound`` naming
    the known ones, and nothing is written. The caller commits."""
    known = set(session.exec(select(System.name).where(System.study_id == study_id)).all())
    unknown = sorted(set(systems or {}) - known)
    if unknown:
        raise NotFound(
            f"no system {', '.join(map(repr, unknown))} in this study; known: "
            f"{', '.join(sorted(known))}"
        )
    for kind, given in (("system", systems or {}), ("judge", judges or {})):
        for name, family in given.items():
            if not family.strip():
                raise InputError(f"empty family for {kind} {name!r}")
            row = session.exec(
                select(ModelFamily).where(
                    ModelFamily.study_id == study_id,
                    ModelFamily.kind == kind,
                    ModelFamily.name == name,
                )
            ).first()
            if row is None:
                row = ModelFamily(study_id=study_id, kind=kind, name=name, family=family)
            row.family = family.strip()
            session.add(row)
    session.flush()
    out: dict[str, dict[str, str]] = {"system": {}, "judge": {}}
    for row in session.exec(select(ModelFamily).where(ModelFamily.study_id == study_id)).all():
        out[row.kind][row.name] = row.family
    return out
