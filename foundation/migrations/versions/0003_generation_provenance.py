"""Generation provenance: prompt-set versions, generation sources and generated outputs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Four new tables (``sidebyside generate`` and ``sidebyside series --study``), nothing else
changes: every existing study keeps its rows and simply has no generation provenance.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    op.create_table(
        "generationsource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("adapter", sa.String(length=1000), nullable=True),
        sa.Column("engine", sa.String(length=20), nullable=False),
        sa.Column("model_hash", sa.String(length=300), nullable=True),
        sa.Column("adapter_hash", sa.String(length=64), nullable=True),
        sa.Column("template_hash", sa.String(length=64), nullable=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "system", "fingerprint"),
    )
    with op.batch_alter_table("generationsource", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_generationsource_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "promptsetversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("n_prompts", sa.Integer(), nullable=False),
        sa.Column("parent_study_id", sa.Integer(), nullable=True),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_study_id"],
            ["study.id"],
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "sha256"),
    )
    with op.batch_alter_table("promptsetversion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promptsetversion_study_id"), ["study_id"], unique=False
        )

    op.create_table(
        "generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("prompt_external_id", sa.String(length=200), nullable=False),
        sa.Column("cache_key", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("tokens_in", sa.Integer(), nullable=True),
        sa.Column("tokens_out", sa.Integer(), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=True),
        sa.Column("finish_reason", sa.String(length=20), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["generationsource.id"],
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "cache_key"),
    )
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_generation_source_id"), ["source_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_generation_study_id"), ["study_id"], unique=False)

    op.create_table(
        "checkpointseries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("held_out_sha256", sa.String(length=64), nullable=False),
        sa.Column("train_sha256", sa.String(length=64), nullable=False),
        sa.Column("best", sa.String(length=200), nullable=True),
        sa.Column("overfit_from", sa.String(length=200), nullable=True),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("checkpointseries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkpointseries_study_id"), ["study_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("checkpointseries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_checkpointseries_study_id"))

    op.drop_table("checkpointseries")
    with op.batch_alter_table("generation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generation_study_id"))
        batch_op.drop_index(batch_op.f("ix_generation_source_id"))

    op.drop_table("generation")
    with op.batch_alter_table("promptsetversion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promptsetversion_study_id"))

    op.drop_table("promptsetversion")
    with op.batch_alter_table("generationsource", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_generationsource_study_id"))

    op.drop_table("generationsource")
