"""SQLModel tables of the human side. All timestamps are timezone-aware UTC (``utcnow``).

Pairs store their two outputs in a canonical order (``output_a`` / ``output_b``); what an
annotator saw on the left is recorded on the assignment (``swapped``), and every preference is
stored in canonical terms, so unblinding is a lookup, never a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (schema version)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class Study(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, min_length=1, max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: Rubric as JSON (see annotate.rubric.Rubric); editable until the first rating.
    rubric: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: Distinct annotators each pair needs.
    k: int = Field(default=3, ge=1, le=100)
    #: Seed of every per-annotator shuffle and side assignment.
    seed: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow)


class System(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("study_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    name: str = Field(min_length=1, max_length=200)


class Prompt(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("study_id", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: The ``prompt_id`` of the imported file.
    external_id: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    reference: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Optional task category of the prompt (coding, writing, ...): results are broken down
    #: by it. Added in schema version 2.
    category: str | None = Field(default=None, max_length=100)


class Output(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("prompt_id", "system_id"),)
    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="prompt.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))


class Pair(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("study_id", "output_a_id", "output_b_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    prompt_id: int = Field(foreign_key="prompt.id", index=True)
    output_a_id: int = Field(foreign_key="output.id")
    output_b_id: int = Field(foreign_key="output.id")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, min_length=1, max_length=100)
    #: argon2 hash; None for accounts that cannot log in (imported annotators).
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default="annotator", max_length=20)  # "admin" | "annotator"
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    #: sha256 of the one-time token; the token itself is shown once and never stored.
    token_hash: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(default="annotator", max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_by: int | None = Field(default=None, foreign_key="user.id")
    used_at: datetime | None = None


class Assignment(SQLModel, table=True):
    """A pair handed to one annotator. ``slot`` (0..k-1) is unique per pair while the
    assignment holds a place, so no race can push a pair past k; an abandoned assignment
    gives its slot up (slot = NULL, status "expired")."""

    __table_args__ = (
        UniqueConstraint("pair_id", "user_id"),
        UniqueConstraint("pair_id", "slot"),
    )
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    slot: int | None = Field(default=None)
    #: True when output_b was shown on the left as "Response A".
    swapped: bool
    #: "open" | "done" | "skipped" | "expired"
    status: str = Field(default="open", max_length=10, index=True)
    #: Why it was skipped or flagged (e.g. "both unusable").
    reason: str | None = Field(default=None, max_length=1000)
    flagged: bool = Field(default=False)
    opened_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class Rating(SQLModel, table=True):
    """One submitted vote, in canonical terms. Unique per (pair, user): a double submit
    cannot create a second rating."""

    __table_args__ = (UniqueConstraint("pair_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", unique=True)
    #: "a" | "b" | "tie", relative to the pair's output_a / output_b.
    preference: str = Field(max_length=3)
    #: {criterion: {"a": score, "b": score}}, canonical sides.
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: Whether output_b was shown on the left (copied from the assignment; None if imported).
    swapped: bool | None = None
    time_spent_s: float | None = None
    #: "app" or "import"
    source: str = Field(default="app", max_length=10)
    created_at: datetime = Field(default_factory=utcnow)
