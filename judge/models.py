"""SQLModel tables of the machine side: judge calls (one row per order) and reconciled verdicts.

A pairwise judge sees each pair twice: order "ab" shows output_a as Response A, order "ba"
shows output_b as Response A. ``winner`` on a Judgment is in canonical terms (a | b | tie);
``shown_winner`` is what the judge literally said (A | B | tie).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from annotate.models import utcnow


class Judgment(SQLModel, table=True):
    """One judge call (or one imported verdict). Raw text is always kept."""

    __table_args__ = (UniqueConstraint("judge", "mode", "pair_id", "order", "output_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    #: Judge spec, e.g. "openai:gpt-4o-mini" or a name from an imported file.
    judge: str = Field(index=True, max_length=300)
    #: "pairwise" | "single" | "imported"
    mode: str = Field(default="pairwise", max_length=10)
    #: "ab" | "ba" for pairwise; "a" | "b" for single (which output was scored); "" if imported.
    order: str = Field(default="", max_length=2)
    #: For single mode: the scored output (else 0, so the unique constraint holds on all DBs).
    output_id: int = Field(default=0)
    template_version: str = Field(default="", max_length=50)
    cache_key: str = Field(default="", index=True, max_length=64)
    #: "ok" | "unparsed" | "error"
    status: str = Field(default="ok", max_length=10)
    shown_winner: str | None = Field(default=None, max_length=3)
    #: Canonical: "a" | "b" | "tie" | None (unparsed / error / single mode).
    winner: str | None = Field(default=None, max_length=3)
    #: Single mode: {"criteria": {name: 1..5}, "overall": 1..10}.
    scores: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reasoning: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    raw: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: USD; None when the model's price is unknown (never 0 for "unknown").
    cost_usd: float | None = None
    latency_s: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class JudgeVerdict(SQLModel, table=True):
    """The reconciled verdict of one judge on one pair (both orders agree, else an
    inconsistent tie). Imported verdicts land here directly."""

    __table_args__ = (UniqueConstraint("judge", "mode", "pair_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    judge: str = Field(index=True, max_length=300)
    mode: str = Field(default="pairwise", max_length=10)
    #: Canonical "a" | "b" | "tie".
    winner: str = Field(max_length=3)
    #: True when the two orders disagreed (the verdict is then a tie).
    inconsistent: bool = Field(default=False)
    #: Winner of order "ab" and "ba" in canonical terms (None if unparsed/failed/imported).
    winner_ab: str | None = Field(default=None, max_length=3)
    winner_ba: str | None = Field(default=None, max_length=3)
    reasoning: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)
