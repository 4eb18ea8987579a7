"""Study.allocation: the order claims take a study's pairs in ("uniform" | "adaptive").

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Every study made before it keeps the order it always had: the server default fills the new
column with "uniform". SQLite adds a column with a constant default in place (no table copy,
so the tables that reference ``study`` are untouched).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allocation", sa.String(length=10), server_default="uniform", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("allocation")
