"""deadlines

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:39:30.955999
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "heartbeats",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_heartbeats")),
    )
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_policies")),
        sa.UniqueConstraint("digest", name=op.f("uq_policies_digest")),
    )
    op.create_table(
        "deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_deadlines_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deadlines")),
    )
    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadlines_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_deadlines_due", ["status", "due_at"], unique=False)

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("policy_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("clock_token", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("supervised_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("paused_left", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cases_policy_id_policies"), "policies", ["policy_id"], ["id"]
        )


def downgrade() -> None:

    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cases_policy_id_policies"), type_="foreignkey")
        batch_op.drop_column("request")
        batch_op.drop_column("paused_left")
        batch_op.drop_column("paused_at")
        batch_op.drop_column("supervised_at")
        batch_op.drop_column("accepted_at")
        batch_op.drop_column("clock_token")
        batch_op.drop_column("policy_id")

    with op.batch_alter_table("deadlines", schema=None) as batch_op:
        batch_op.drop_index("ix_deadlines_due")
        batch_op.drop_index(batch_op.f("ix_deadlines_case_id"))

    op.drop_table("deadlines")
    op.drop_table("policies")
    op.drop_table("heartbeats")
