"""The schema at version 7, frozen: what the last release before Alembic made, table for table.

Never edit this module: a schema change is a new revision in ``versions/``. The baseline
revision (``0001``) creates these tables in a new database, and ``legacy`` takes a database
of versions 1–6 here by creating the tables and adding the columns it lacks, typed as below.
Generated once from the models of version 7 (``foundation/models.py`` at that release).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

Table(
    "auditevent",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, index=True),
    Column("action", String(30), nullable=False, index=True),
    Column("username", String(100), nullable=False, index=True),
    Column("actor", String(100)),
    Column("client", String(100), index=True),
    Column("detail", String(500), nullable=False),
)


Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", String(255), nullable=False),
)


Table(
    "study",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("name", String(200), nullable=False, index=True, unique=True),
    Column("description", Text(), nullable=False),
    Column("rubric", JSON(), nullable=False),
    Column("k", Integer(), nullable=False),
    Column("seed", Integer(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


Table(
    "user",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("username", String(100), nullable=False, index=True, unique=True),
    Column("password_hash", String(255)),
    Column("role", String(20), nullable=False),
    Column("active", Boolean(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


Table(
    "benchmarkresult",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("model", String(500), nullable=False),
    Column("task", String(200), nullable=False),
    Column("metric", String(50), nullable=False),
    Column("value", Float()),
    Column("stderr", Float()),
    Column("n", Integer(), nullable=False),
    Column("settings", JSON(), nullable=False),
    Column("per_item", JSON(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


Table(
    "invite",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("token_hash", String(64), nullable=False, index=True, unique=True),
    Column("role", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_by", Integer(), ForeignKey("user.id")),
    Column("used_at", DateTime(timezone=True)),
)


Table(
    "judgebatch",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("judge", String(300), nullable=False, index=True),
    Column("mode", String(10), nullable=False),
    Column("provider", String(50), nullable=False),
    Column("batch_id", String(200), nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("provider_status", String(50), nullable=False),
    Column("keys", JSON(), nullable=False),
    Column("n_requests", Integer(), nullable=False),
    Column("counts", JSON(), nullable=False),
    Column("ingested", Boolean(), nullable=False),
    Column("cost_usd", Float()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("provider", "batch_id"),
)


Table(
    "loginsession",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("token_hash", String(64), nullable=False, index=True, unique=True),
    Column("user_id", Integer(), ForeignKey("user.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("next_path", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)


Table(
    "modelfamily",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("name", String(300), nullable=False),
    Column("family", String(100), nullable=False),
    UniqueConstraint("study_id", "kind", "name"),
)


Table(
    "perplexityrun",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("model", String(500), nullable=False),
    Column("texts", String(500), nullable=False),
    Column("texts_sha256", String(64), nullable=False, index=True),
    Column("n_texts", Integer(), nullable=False),
    Column("n_skipped", Integer(), nullable=False),
    Column("n_tokens", Integer(), nullable=False),
    Column("nll_sum", Float(), nullable=False),
    Column("perplexity", Float()),
    Column("bits_per_byte", Float()),
    Column("ci_low", Float()),
    Column("ci_high", Float()),
    Column("tokens_per_second", Float()),
    Column("seconds", Float()),
    Column("settings", JSON(), nullable=False),
    Column("per_text", JSON(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


Table(
    "prompt",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("external_id", String(200), nullable=False),
    Column("text", Text(), nullable=False),
    Column("reference", Text()),
    Column("category", String(100)),
    UniqueConstraint("study_id", "external_id"),
)


Table(
    "system",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    UniqueConstraint("study_id", "name"),
)


Table(
    "metricresult",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("system_id", Integer(), ForeignKey("system.id"), nullable=False, index=True),
    Column("metric", String(50), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("value", Float()),
    Column("ci_low", Float()),
    Column("ci_high", Float()),
    Column("n", Integer(), nullable=False),
    Column("details", JSON(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("study_id", "system_id", "metric"),
)


Table(
    "output",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("prompt_id", Integer(), ForeignKey("prompt.id"), nullable=False, index=True),
    Column("system_id", Integer(), ForeignKey("system.id"), nullable=False, index=True),
    Column("text", Text(), nullable=False),
    UniqueConstraint("prompt_id", "system_id"),
)


Table(
    "pair",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("prompt_id", Integer(), ForeignKey("prompt.id"), nullable=False, index=True),
    Column("output_a_id", Integer(), ForeignKey("output.id"), nullable=False),
    Column("output_b_id", Integer(), ForeignKey("output.id"), nullable=False),
    UniqueConstraint("study_id", "output_a_id", "output_b_id"),
)


Table(
    "assignment",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("pair_id", Integer(), ForeignKey("pair.id"), nullable=False, index=True),
    Column("user_id", Integer(), ForeignKey("user.id"), nullable=False, index=True),
    Column("slot", Integer()),
    Column("swapped", Boolean(), nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("reason", String(1000)),
    Column("flagged", Boolean(), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    UniqueConstraint("pair_id", "user_id"),
    UniqueConstraint("pair_id", "slot"),
)


Table(
    "judgeverdict",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("pair_id", Integer(), ForeignKey("pair.id"), nullable=False, index=True),
    Column("judge", String(300), nullable=False, index=True),
    Column("mode", String(10), nullable=False),
    Column("winner", String(3), nullable=False),
    Column("inconsistent", Boolean(), nullable=False),
    Column("winner_ab", String(3)),
    Column("winner_ba", String(3)),
    Column("preference", Float()),
    Column("reasoning", Text(), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("judge", "mode", "pair_id"),
)


Table(
    "judgment",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("pair_id", Integer(), ForeignKey("pair.id"), nullable=False, index=True),
    Column("judge", String(300), nullable=False, index=True),
    Column("mode", String(10), nullable=False),
    Column("order", String(2), nullable=False),
    Column("output_id", Integer(), nullable=False),
    Column("template_version", String(50), nullable=False),
    Column("cache_key", String(64), nullable=False, index=True),
    Column("status", String(10), nullable=False),
    Column("shown_winner", String(3)),
    Column("winner", String(3)),
    Column("scores", JSON()),
    Column("preference", Float()),
    Column("p_a", Float()),
    Column("p_b", Float()),
    Column("p_tie", Float()),
    Column("reasoning", Text(), nullable=False),
    Column("raw", Text(), nullable=False),
    Column("error", Text()),
    Column("input_tokens", Integer()),
    Column("output_tokens", Integer()),
    Column("cost_usd", Float()),
    Column("latency_s", Float()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("judge", "mode", "pair_id", "order", "output_id"),
)


Table(
    "rating",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("pair_id", Integer(), ForeignKey("pair.id"), nullable=False, index=True),
    Column("user_id", Integer(), ForeignKey("user.id"), nullable=False, index=True),
    Column("assignment_id", Integer(), ForeignKey("assignment.id"), unique=True),
    Column("preference", String(3), nullable=False),
    Column("scores", JSON(), nullable=False),
    Column("comment", Text(), nullable=False),
    Column("swapped", Boolean()),
    Column("time_spent_s", Float()),
    Column("source", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("pair_id", "user_id"),
)


Table(
    "ratingrevision",
    metadata,
    Column("id", Integer(), primary_key=True),
    Column("rating_id", Integer(), ForeignKey("rating.id"), nullable=False, index=True),
    Column("study_id", Integer(), ForeignKey("study.id"), nullable=False, index=True),
    Column("preference", String(3), nullable=False),
    Column("scores", JSON(), nullable=False),
    Column("comment", Text(), nullable=False),
    Column("made_at", DateTime(timezone=True), nullable=False),
    Column("replaced_at", DateTime(timezone=True), nullable=False),
)
