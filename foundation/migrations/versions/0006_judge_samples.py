"""Calibrating judges: Judgment.sample (the K answers of one order), the vote fractions of a
verdict (JudgeVerdict.vote_a / vote_b / vote_tie / vote_preference) and the judgealignment
table (the rounds of ``judge-align``).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Every judgment stored before is the only answer of its order: the server default gives it
sample 0. The judgment table's unique key gains ``sample``; the old key was made without a
name, so it is found by its columns (SQLite reflects it unnamed: the batch copy names it by
the naming convention below to drop it; PostgreSQL gave it its own name).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | tuple[str, ...] | None = None
depends_on: str | tuple[str, ...] | None = None

_OLD = ["judge", "mode", "pair_id", "order", "output_id"]
_NEW = [*_OLD, "sample"]
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s_%(column_2_name)s"}


def _unique_named(columns: list[str]) -> str | None:
    """The stored name of judgment's unique key on ``columns`` (None when unnamed)."""
    for uq in sa.inspect(op.get_bind()).get_unique_constraints("judgment"):
        if list(uq["column_names"]) == columns:
            return uq["name"] or "uq_judgment_judge_mode_pair_id"
    raise RuntimeError(f"judgment has no unique key on {columns}")


def _swap_key(old: list[str], new: list[str], new_name: str | None) -> None:
    name = _unique_named(old)
    with op.batch_alter_table("judgment", naming_convention=_CONVENTION) as batch_op:
        if new == _NEW:
            batch_op.add_column(
                sa.Column("sample", sa.Integer(), server_default="0", nullable=False)
            )
        batch_op.drop_constraint(name, type_="unique")
        batch_op.create_unique_constraint(new_name or "uq_judgment_judge_mode_pair_id", new)
        if new == _OLD:
            batch_op.drop_column("sample")


def upgrade() -> None:
    _swap_key(_OLD, _NEW, "uq_judgment_slot")
    with op.batch_alter_table("judgeverdict", schema=None) as batch_op:
        for column in ("vote_a", "vote_b", "vote_tie", "vote_preference"):
            batch_op.add_column(sa.Column(column, sa.Float(), nullable=True))
    op.create_table(
        "judgealignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("judge", sa.String(length=300), nullable=False),
        sa.Column("aligned_judge", sa.String(length=300), nullable=False),
        sa.Column("base_template", sa.String(length=1000), nullable=False),
        sa.Column("template", sa.String(length=1000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("folds", sa.Integer(), nullable=False),
        sa.Column("shots", sa.JSON(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("agreement_before", sa.Float(), nullable=True),
        sa.Column("agreement_after", sa.Float(), nullable=True),
        sa.Column("diff_low", sa.Float(), nullable=True),
        sa.Column("diff_high", sa.Float(), nullable=True),
        sa.Column("mcnemar_p", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["study_id"], ["study.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_judgealignment_study_id", "judgealignment", ["study_id"])
    op.create_index("ix_judgealignment_judge", "judgealignment", ["judge"])


def downgrade() -> None:
    op.drop_index("ix_judgealignment_judge", table_name="judgealignment")
    op.drop_index("ix_judgealignment_study_id", table_name="judgealignment")
    op.drop_table("judgealignment")
    with op.batch_alter_table("judgeverdict", schema=None) as batch_op:
        for column in ("vote_preference", "vote_tie", "vote_b", "vote_a"):
            batch_op.drop_column(column)
    _swap_key(_NEW, _OLD, None)
