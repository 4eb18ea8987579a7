"""The whole schema as version 7 (the last release before Alembic) made it.

Revision ID: 0001
Revises:
Create Date: 2026-12-03

A new database gets it here; a database made by an earlier release is taken to version 7 by
``legacy`` and stamped with this revision instead, so this never runs on one.
"""

from __future__ import annotations

from alembic import op

from sidebyside.foundation.migrations.legacy import SCHEMA_VERSION, record_version
from sidebyside.foundation.migrations.schema_v7 import metadata

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None


def upgrade() -> None:
    metadata.create_all(op.get_bind())
    record_version(op.get_bind(), SCHEMA_VERSION)


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
