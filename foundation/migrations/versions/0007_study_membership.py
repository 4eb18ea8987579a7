"""Study membership, a remembered study per user, closed studies, study invites and the
login throttle's counters.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Additive only: two new tables (``studymember``, ``logincounter``) and four new columns with
defaults (``study.closed``, ``study.base_system``, ``user.last_study_id``, ``invite.study_id``).

Upgrade keeps an existing install working as before: every annotator account becomes a
member of every study that exists, since until now every annotator saw every study; the
demo's ``sample (simulated ratings)`` study is left out (its raters are simulated and it is
meant for admins). Admins need no membership: they see every study.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

#: The demo's study of simulated ratings (annotate.demo.SAMPLE_STUDY), kept admin-only.
SAMPLE_STUDY = "sample (simulated ratings)"


def upgrade() -> None:
    op.create_table(
        "studymember",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("study_id", sa.Integer(), sa.ForeignKey("study.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("user.id"), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("study_id", "user_id"),
    )
    op.create_index("ix_studymember_study_id", "studymember", ["study_id"])
    op.create_index("ix_studymember_user_id", "studymember", ["user_id"])
    op.create_table(
        "logincounter",
        sa.Column("key", sa.String(length=140), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
    )
    # Plain ADD COLUMN (SQLite too): no table copy, the tables that reference them untouched.
    op.add_column(
        "study", sa.Column("closed", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("study", sa.Column("base_system", sa.String(length=200), nullable=True))
    op.add_column("user", sa.Column("last_study_id", sa.Integer(), nullable=True))
    op.add_column("invite", sa.Column("study_id", sa.Integer(), nullable=True))
    # Existing annotators keep the studies they could open before (see the docstring).
    op.get_bind().execute(
        sa.text(
            "INSERT INTO studymember (study_id, user_id, added_by, added_at) "
            'SELECT s.id, u.id, :by, CURRENT_TIMESTAMP FROM study s, "user" u '
            "WHERE u.role = 'annotator' AND s.name <> :sample"
        ),
        {"by": "upgrade 0007", "sample": SAMPLE_STUDY},
    )


def downgrade() -> None:
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.drop_column("study_id")
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("last_study_id")
    with op.batch_alter_table("study", schema=None) as batch_op:
        batch_op.drop_column("closed")
        batch_op.drop_column("base_system")
    op.drop_table("logincounter")
    op.drop_index("ix_studymember_user_id", table_name="studymember")
    op.drop_index("ix_studymember_study_id", table_name="studymember")
    op.drop_table("studymember")
