"""SQLModel tables of the automatic metrics: stored perplexity runs and per-system metric
results. Floats that are undefined (nothing scored, a CI of one text) are stored as NULL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from annotate.models import utcnow


class PerplexityRun(SQLModel, table=True):
    """One model scored on one text set. Per-text figures are kept so any two runs on the same
    texts can be compared with a paired bootstrap later."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: Path or hub id the model was loaded from.
    model: str = Field(max_length=500)
    #: Name of the text set (the file name unless given).
    texts: str = Field(max_length=500)
    #: sha256 of the texts (JSON list): runs are paired only when this matches.
    texts_sha256: str = Field(max_length=64, index=True)
    n_texts: int = Field(ge=0)
    n_skipped: int = Field(default=0, ge=0)
    n_tokens: int = Field(ge=0)
    nll_sum: float
    perplexity: float | None = None
    bits_per_byte: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    tokens_per_second: float | None = None
    seconds: float | None = None
    #: max_length, stride, batch_size, dtype, device, bos.
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: {"nll": [...], "n_tokens": [...], "n_bytes": [...]}, aligned with the texts.
    per_text: dict[str, list] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class MetricResult(SQLModel, table=True):
    """One automatic metric of one system of a study against the prompts' references.
    Re-running the metrics replaces a system's rows."""

    __table_args__ = (UniqueConstraint("study_id", "system_id", "metric"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    #: bleu | chrf | rouge1 | rouge2 | rougeL | exact_match | token_f1 (0-100), or
    #: accuracy | macro_f1 | weighted_f1 (0-1) for label tasks.
    metric: str = Field(max_length=50)
    #: "text" or "label"
    kind: str = Field(default="text", max_length=10)
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    #: Prompts with a reference that the system answered.
    n: int = Field(ge=0)
    #: Label tasks: scikit-learn's per-class report.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
