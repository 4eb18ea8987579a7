"""Prompt.conversation, Prompt.turn, Prompt.system_message: multi-turn conversations.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A conversation's turn is one prompt row (its user message) with the conversation's id, the
turn number and the system message; every existing prompt is single-turn and keeps NULL in
all three, so nothing about it changes. Additive: three nullable columns.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.add_column(sa.Column("conversation", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("turn", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("system_message", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("prompt", schema=None) as batch_op:
        batch_op.drop_column("system_message")
        batch_op.drop_column("turn")
        batch_op.drop_column("conversation")
