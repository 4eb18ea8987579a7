"""Eval-set versions: the content of a study's prompt set, stored with the study, so that
generating or importing a set whose texts differ is refused with the prompt ids that differ
(a comparison across two different eval sets would be meaningless).

A set that only adds prompts keeps the study's version; ``--new-version`` starts a new study
carrying the next version number.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from sqlmodel import Session, col, func, select

from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Prompt, PromptSetVersion, Study


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def set_sha256(texts: Mapping[str, str]) -> str:
    """sha256 of a prompt set: its (prompt id, text sha256) pairs, sorted by id.

    >>> set_sha256({"b": "x", "a": "y"}) == set_sha256({"a": "y", "b": "x"})
    True
    """
    pairs = sorted((pid, text_sha256(text)) for pid, text in texts.items())
    return hashlib.sha256(json.dumps(pairs, ensure_ascii=False).encode("utf-8")).hexdigest()


def differing_prompts(session: Session, *, study: Study, texts: Mapping[str, str]) -> list[str]:
    """Prompt ids the study already has with another text, sorted."""
    stored = session.exec(
        select(Prompt.external_id, Prompt.text).where(
            Prompt.study_id == study.id, col(Prompt.external_id).in_(list(texts))
        )
    ).all()
    return sorted(ext for ext, text in stored if texts[ext] != text)


def check_prompt_set(session: Session, *, study: Study, texts: Mapping[str, str]) -> None:
    """Refuse a prompt set whose texts differ from the study's, naming the prompt ids."""
    ids = differing_prompts(session, study=study, texts=texts)
    if ids:
        shown = ", ".join(repr(i) for i in ids[:20]) + (" ..." if len(ids) > 20 else "")
        raise InputError(
            f"study {study.name!r} has {len(ids)} prompt(s) with other texts than this prompt "
            f"set: {shown}. A comparison needs one eval set: start a new version "
            "(generate --new-version) or a new study"
        )


def study_version(session: Session, study_id: int) -> int:
    """The study's eval-set version (1 unless it was started with ``--new-version``)."""
    found = session.exec(
        select(func.max(PromptSetVersion.version)).where(PromptSetVersion.study_id == study_id)
    ).one()
    return int(found or 1)


def record_prompt_set(
    session: Session,
    *,
    study: Study,
    texts: Mapping[str, str],
    version: int | None = None,
    parent_study_id: int | None = None,
) -> PromptSetVersion:
    """Store the set's content with the study (once per distinct content); no commit."""
    sha = set_sha256(texts)
    found = session.exec(
        select(PromptSetVersion).where(
            PromptSetVersion.study_id == study.id, PromptSetVersion.sha256 == sha
        )
    ).first()
    if found is not None:
        return found
    row = PromptSetVersion(
        study_id=study.id,
        version=version or study_version(session, study.id),
        sha256=sha,
        n_prompts=len(texts),
        parent_study_id=parent_study_id,
        texts={pid: text_sha256(t) for pid, t in texts.items()},
    )
    session.add(row)
    session.flush()
    return row


def current_version(session: Session, study_id: int) -> dict[str, object] | None:
    """The study's eval set as the card and report name it: version, sha256 of the prompts
    it holds now, their number; None for a study without prompts."""
    rows = session.exec(
        select(Prompt.external_id, Prompt.text).where(Prompt.study_id == study_id)
    ).all()
    if not rows:
        return None
    return {
        "version": study_version(session, study_id),
        "sha256": set_sha256(dict(rows)),
        "n_prompts": len(rows),
    }
