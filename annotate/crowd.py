"""Crowd participants (Prolific, MTurk): a study's join link, the passwordless account each
participant gets, their quota and their completion.

* ``open_link`` makes ``/join/TOKEN`` (the token is shown once; only its sha256 is kept).
  Prolific sends ``?PROLIFIC_PID=…&STUDY_ID=…&SESSION_ID=…``; for MTurk name the id
  parameter ``workerId`` and keep ``assignmentId`` / ``hitId``.
* ``join`` (the ``/join`` route, ``ui/join_routes.py``): the participant with that id on
  that link — created on first arrival as an account that cannot log in, named by a hash so
  the id itself never appears in ratings or exports — or a clear refusal: a closed link, no
  id, or a browser already taking part as someone else (one link never lets a second id take
  over the first participant's session).
* ``quota_reached`` stops their claims after ``quota`` finished pairs (gold included);
  ``completion`` then gives the page its code or return address. A participant who leaves
  frees their open pair through the ordinary lease (``annotate.assignment``).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, func, select

from sidebyside.foundation.enums import AssignmentStatus, Role
from sidebyside.foundation.errors import InputError, NotFound
from sidebyside.foundation.models import (
    Assignment,
    Participant,
    ParticipantLink,
    Study,
    StudyMember,
    User,
    utcnow,
)

_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_ID = 200


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class JoinRefused(InputError):
    """Why a join link did not let this browser in (shown on the page it answers)."""


def open_link(
    session: Session,
    *,
    study: Study,
    quota: int,
    completion_code: str = "",
    redirect_url: str = "",
    id_param: str = "PROLIFIC_PID",
    extra_params: tuple[str, ...] = ("STUDY_ID", "SESSION_ID"),
) -> tuple[ParticipantLink, str]:
    """A new join link of ``study`` and its token (shown once); the caller commits."""
    if quota < 1:
        raise InputError(f"a participant needs a quota of at least one pair, got {quota}")
    if not completion_code.strip() and not redirect_url.strip():
        raise InputError("give a completion code, a redirect URL, or both")
    if redirect_url and urlsplit(redirect_url).scheme not in ("https", "http"):
        raise InputError(f"the redirect URL must be an http(s) address, got {redirect_url!r}")
    for name in (id_param, *extra_params):
        if not _PARAM.match(name):
            raise InputError(f"query parameter name {name!r} is not a plain identifier")
    token = secrets.token_urlsafe(24)
    link = ParticipantLink(
        study_id=study.id,
        token_hash=_hash(token),
        quota=quota,
        completion_code=completion_code.strip()[:200],
        redirect_url=redirect_url.strip()[:1000],
        id_param=id_param,
        extra_params=list(extra_params),
    )
    session.add(link)
    session.flush()
    return link, token


def close_link(session: Session, *, link_id: int) -> ParticipantLink:
    link = session.get(ParticipantLink, link_id)
    if link is None:
        raise NotFound(f"no participant link {link_id}")
    link.closed_at = link.closed_at or utcnow()
    session.add(link)
    session.flush()
    return link


def link_of_token(session: Session, token: str) -> ParticipantLink | None:
    return session.exec(
        select(ParticipantLink).where(ParticipantLink.token_hash == _hash(token or ""))
    ).first()


def participant_of(session: Session, user_id: int) -> Participant | None:
    return session.exec(select(Participant).where(Participant.user_id == user_id)).first()


def _username(link: ParticipantLink, external_id: str) -> str:
    digest = hashlib.sha256(f"{link.id}:{external_id}".encode()).hexdigest()[:16]
    return f"participant-{digest}"


def join(
    session: Session,
    *,
    token: str,
    params: dict[str, str],
    current_user_id: int | None,
) -> Participant:
    """The participant this request joins as (created on first arrival; the caller commits
    and signs the browser in), or ``JoinRefused`` saying why not."""
    link = link_of_token(session, token)
    if link is None:
        raise JoinRefused("this join link is not known: check the address you were given")
    if link.closed_at is not None:
        raise JoinRefused("this study is closed: it takes no more participants")
    external = (params.get(link.id_param) or "").strip()
    if not external:
        raise JoinRefused(
            f"the link carries no participant id ({link.id_param}): open it from the "
            "recruiting site"
        )
    if len(external) > MAX_ID or any(ord(c) < 32 for c in external):
        raise JoinRefused(f"the participant id is not a plain id of at most {MAX_ID} characters")
    if current_user_id is not None:
        mine = participant_of(session, current_user_id)
        if mine is None or mine.link_id != link.id or mine.external_id != external:
            raise JoinRefused(
                "this browser is already taking part as another participant (or signed in to "
                "another account): one link cannot be used to become another participant"
            )
        return mine
    found = session.exec(
        select(Participant).where(
            Participant.link_id == link.id, Participant.external_id == external
        )
    ).first()
    if found is not None:
        return found  # the same participant, back (another tab, a new browser)
    user = User(username=_username(link, external), password_hash=None, role=Role.ANNOTATOR)
    extra = {k: (params.get(k) or "")[:200] for k in link.extra_params}
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
            found = Participant(link_id=link.id, user_id=user.id, external_id=external, extra=extra)
            session.add(found)
            # A member of the link's study and of no other (annotate.membership).
            session.add(StudyMember(study_id=link.study_id, user_id=user.id, added_by="join link"))
    except IntegrityError:  # the same id arrived twice at once: the first one stands
        found = session.exec(
            select(Participant).where(
                Participant.link_id == link.id, Participant.external_id == external
            )
        ).first()
        if found is None:
            raise
    return found


def _finished(session: Session, study_id: int, user_id: int) -> int:
    return session.exec(
        select(func.count()).where(
            Assignment.study_id == study_id,
            Assignment.user_id == user_id,
            Assignment.status.in_([AssignmentStatus.DONE, AssignmentStatus.SKIPPED]),
        )
    ).one()


def quota_reached(session: Session, *, study: Study, user_id: int) -> bool:
    """Whether this user is a participant of ``study`` with their quota done."""
    p = participant_of(session, user_id)
    if p is None:
        return False
    link = session.get(ParticipantLink, p.link_id)
    return link.study_id == study.id and _finished(session, study.id, user_id) >= link.quota


@dataclass(frozen=True)
class Completion:
    code: str
    redirect_url: str


def participant_study(session: Session, user_id: int) -> Study | None:
    """The study a participant takes part in (they see no other); None for anyone else."""
    p = participant_of(session, user_id)
    if p is None:
        return None
    return session.get(Study, session.get(ParticipantLink, p.link_id).study_id)


def completion(session: Session, *, user_id: int) -> Completion | None:
    """The participant's completion (code, return address) once their quota is done; it is
    stamped the first time. None while pairs are left, and for anyone not a participant."""
    p = participant_of(session, user_id)
    if p is None:
        return None
    link = session.get(ParticipantLink, p.link_id)
    if _finished(session, link.study_id, user_id) < link.quota:
        return None
    if p.completed_at is None:
        p.completed_at = utcnow()
        session.add(p)
        session.flush()
    return Completion(link.completion_code, link.redirect_url)


def participant_ids(session: Session, study_id: int) -> dict[str, str]:
    """Account name ─► participant id, for exports that ask for the ids."""
    rows = session.exec(
        select(User.username, Participant.external_id)
        .join(Participant, Participant.user_id == User.id)
        .join(ParticipantLink, ParticipantLink.id == Participant.link_id)
        .where(ParticipantLink.study_id == study_id)
    ).all()
    return dict(rows)


def links(session: Session, study_id: int) -> list[dict[str, Any]]:
    rows = session.exec(select(ParticipantLink).where(ParticipantLink.study_id == study_id)).all()
    out = []
    for link in rows:
        n = session.exec(select(func.count()).where(Participant.link_id == link.id)).one()
        done = session.exec(
            select(func.count()).where(
                Participant.link_id == link.id, Participant.completed_at.is_not(None)
            )
        ).one()
        out.append(
            {
                "link": link.id,
                "quota": link.quota,
                "participants": n,
                "completed": done,
                "closed": link.closed_at is not None,
                "id_param": link.id_param,
            }
        )
    return out
