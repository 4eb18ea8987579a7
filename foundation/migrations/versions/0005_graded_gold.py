"""Graded preference, known answers and adjudication (issue 19).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Additive only: ``study.preference_levels`` (server default 3, so every study made before it
keeps its three buttons), a nullable ``strength`` on ratings, judge calls and judge verdicts
(None: an ungraded or tie verdict, what every older row is), and the ``goldpair``,
``goldsettings``, ``adjudication``, ``reviewsettings``, ``participantlink`` and
``participant`` tables.
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_STRENGTH = ("rating", "judgment", "judgeverdict")


def upgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("preference_levels", sa.Integer(), server_default="3", nullable=False)
        )
    for table in _STRENGTH:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("strength", sa.Integer(), nullable=True))
    op.create_table(
        "goldpair",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("expected", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("expected_strength", sa.Integer(), nullable=True),
        sa.Column("accepted", sa.JSON(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pair.id"]),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("study_id", "pair_id"),
    )
    with op.batch_alter_table("goldpair", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_goldpair_pair_id"), ["pair_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_goldpair_study_id"), ["study_id"], unique=False)
    op.create_table(
        "goldsettings",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("qualify_n", sa.Integer(), nullable=False),
        sa.Column("qualify_min", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.PrimaryKeyConstraint("study_id"),
    )
    op.create_table(
        "adjudication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("pair_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("preference", sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column("strength", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("blinded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["pair_id"], ["pair.id"]),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("adjudication", schema=None) as batch_op:
        for column in ("pair_id", "study_id", "user_id"):
            batch_op.create_index(batch_op.f(f"ix_adjudication_{column}"), [column], unique=False)
    op.create_table(
        "reviewsettings",
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("blinded", sa.Boolean(), nullable=False),
        sa.Column("judge", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("min_agreement", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.PrimaryKeyConstraint("study_id"),
    )
    op.create_table(
        "participantlink",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("completion_code", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("redirect_url", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("id_param", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("extra_params", sa.JSON(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("participantlink", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participantlink_study_id"), ["study_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_participantlink_token_hash"), ["token_hash"], unique=True
        )
    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["link_id"], ["participantlink.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("link_id", "external_id"),
        sa.UniqueConstraint("user_id"),
    )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_participant_link_id"), ["link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_link_id"))
    op.drop_table("participant")
    with op.batch_alter_table("participantlink", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participantlink_token_hash"))
        batch_op.drop_index(batch_op.f("ix_participantlink_study_id"))
    op.drop_table("participantlink")
    op.drop_table("reviewsettings")
    with op.batch_alter_table("adjudication", schema=None) as batch_op:
        for column in ("user_id", "study_id", "pair_id"):
            batch_op.drop_index(batch_op.f(f"ix_adjudication_{column}"))
    op.drop_table("adjudication")
    op.drop_table("goldsettings")
    with op.batch_alter_table("goldpair", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_goldpair_study_id"))
        batch_op.drop_index(batch_op.f("ix_goldpair_pair_id"))
    op.drop_table("goldpair")
    for table in reversed(_STRENGTH):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("strength")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("preference_levels")
