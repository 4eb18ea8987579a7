"""Who may see and rate which study: study membership, the study each user last chose, and
the one claim path of the Annotate page.

* An annotator sees and is handed pairs of the studies they are a member of (and that are not
  closed); an admin sees every study. Membership comes from an admin (Annotators page,
  ``sidebyside annotators add USER --study NAME``) or from a study's invite link.
* The study a user last chose on Annotate is kept on their account (``User.last_study_id``),
  so a reload, a redirect or a new login returns to it instead of the first study.
* ``claim_next`` is how the Annotate page gets a pair: it re-checks the membership (a crafted
  widget value or deep link is refused with a message, nothing claimed) and releases the
  user's open claims in every other study at once, so a claim made by a page the annotator
  left never holds a slot until its lease runs out.

Every function takes the caller's session and leaves the commit to it.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sidebyside.annotate.assignment import next_assignment
from sidebyside.foundation.enums import AssignmentStatus, Role
from sidebyside.foundation.errors import AssignmentError, InputError, NotFound
from sidebyside.foundation.models import Assignment, Study, StudyMember, User


def _user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username.strip())).first()
    if user is None:
        raise NotFound(
            f"no user {username.strip()!r}: create the account first "
            "(sidebyside annotators add USER, or the Annotators page)"
        )
    return user


def is_member(session: Session, study_id: int, user_id: int) -> bool:
    return (
        session.exec(
            select(StudyMember.id).where(
                StudyMember.study_id == study_id, StudyMember.user_id == user_id
            )
        ).first()
        is not None
    )


def add_member(session: Session, *, study: Study, username: str, actor: str = "") -> bool:
    """Make ``username`` a member of ``study``; False when they already were. An unknown user
    is a ``NotFound`` naming them; an admin needs no membership (they see every study)."""
    user = _user(session, username)
    if user.role == Role.ADMIN:
        raise InputError(f"{user.username!r} is an admin and already sees every study")
    if is_member(session, study.id, user.id):
        return False
    try:
        with session.begin_nested():  # the same membership added meanwhile: already a member
            session.add(StudyMember(study_id=study.id, user_id=user.id, added_by=actor[:100]))
    except IntegrityError:
        return False
    return True


def remove_member(session: Session, *, study: Study, username: str) -> bool:
    """End a membership (its ratings stay); the user's open claims there are released."""
    user = _user(session, username)
    row = session.exec(
        select(StudyMember).where(StudyMember.study_id == study.id, StudyMember.user_id == user.id)
    ).first()
    if row is None:
        return False
    session.delete(row)
    release_open(session, user_id=user.id, study_id=study.id)
    session.flush()
    return True


def members(session: Session, study_id: int) -> list[User]:
    """The study's members, by username."""
    return list(
        session.exec(
            select(User)
            .join(StudyMember, col(StudyMember.user_id) == col(User.id))
            .where(StudyMember.study_id == study_id)
            .order_by(User.username)
        )
    )


def visible_studies(session: Session, user: User) -> list[Study]:
    """The studies this user may open on Annotate and My ratings: all for an admin, else the
    open studies they are a member of (by id)."""
    query = select(Study).order_by(Study.id)
    if user.role != Role.ADMIN:
        query = query.join(StudyMember, col(StudyMember.study_id) == col(Study.id)).where(
            StudyMember.user_id == user.id, col(Study.closed).is_(False)
        )
    return list(session.exec(query))


def check_access(session: Session, study: Study, user: User) -> None:
    """``AssignmentError`` unless this user may be handed pairs of this study."""
    if user.role == Role.ADMIN:
        return
    if not is_member(session, study.id, user.id):
        raise AssignmentError(
            f"you are not a member of study {study.name!r}; ask its admin to add you"
        )
    if study.closed:
        raise AssignmentError(f"study {study.name!r} is closed and hands out no more pairs")


def remember_study(session: Session, *, user: User, study_id: int) -> None:
    """Keep the study this user chose, for the next reload or login."""
    if user.last_study_id != study_id:
        session.execute(update(User).where(col(User.id) == user.id).values(last_study_id=study_id))
        user.last_study_id = study_id


def remembered_study(studies: list[Study], user: User) -> Study | None:
    """The user's last chosen study among those they may see, if it is one of them."""
    return next((s for s in studies if s.id == user.last_study_id), None)


def release_open(
    session: Session, *, user_id: int, study_id: int | None = None, keep_study: int | None = None
) -> int:
    """Give up the user's open claims (in ``study_id``, or in every study but ``keep_study``):
    their slots go to the next annotator at once. An unrated claim is deleted, not expired,
    so the pair stays in the user's own queue for later. How many were released."""
    query = delete(Assignment).where(
        col(Assignment.user_id) == user_id,
        col(Assignment.status) == AssignmentStatus.OPEN,
        col(Assignment.slot).is_not(None),
    )
    if study_id is not None:
        query = query.where(col(Assignment.study_id) == study_id)
    if keep_study is not None:
        query = query.where(col(Assignment.study_id) != keep_study)
    result = session.execute(query)
    return result.rowcount or 0


def set_closed(session: Session, *, study: Study, closed: bool = True) -> int:
    """Close (or reopen) a study. Closing releases every open claim on it; how many."""
    study.closed = closed
    session.add(study)
    released = 0
    if closed:
        released = session.execute(
            delete(Assignment).where(
                col(Assignment.study_id) == study.id,
                col(Assignment.status) == AssignmentStatus.OPEN,
            )
        ).rowcount
    session.flush()
    return released or 0


def claim_next(session: Session, *, study: Study, user: User) -> Assignment | None:
    """The Annotate page's pair: membership checked, the study remembered, open claims in
    every other study released, then the pair left open here or a new one."""
    check_access(session, study, user)
    remember_study(session, user=user, study_id=study.id)
    release_open(session, user_id=user.id, keep_study=study.id)
    return next_assignment(session, study=study, user=user)
