"""machine kinds: deadlines of any subject (a case, a mediation, a decision)

Revision ID: 0011_machine_kinds
Revises: 0010_mediation
Create Date: 2026-12-02 03:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_machine_kinds"
down_revision = "0010_mediation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deadlines") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=20), server_default="case", nullable=False))
        batch.add_column(sa.Column("subject_id", sa.Integer(), nullable=True))
    # Every deadline so far is a case's own.
    op.execute("UPDATE deadlines SET subject_id = case_id")
    with op.batch_alter_table("deadlines") as batch:
        batch.alter_column("subject_id", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index("ix_deadlines_subject", ["subject", "subject_id"])


def downgrade() -> None:
    op.execute("DELETE FROM deadlines WHERE subject <> 'case'")
    with op.batch_alter_table("deadlines") as batch:
        batch.drop_index("ix_deadlines_subject")
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("subject_id")
        batch.drop_column("subject")
