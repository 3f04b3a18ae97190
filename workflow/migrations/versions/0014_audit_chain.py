"""audit chain: the case timeline's hash chain (filled for existing steps) and the admin audit log

Revision ID: 0014_audit_chain
Revises: 0017_analysis_tallies
Create Date: 2026-12-02 03:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.audit.chain import GENESIS, link
from workflow.base.db import UTCDateTime
from workflow.cases.chain import CHAINED

revision = "0014_audit_chain"
down_revision = "0017_analysis_tallies"
branch_labels = None
depends_on = None

# The step columns as stored, typed so that values read here are those the chain hashes at run time.
_steps = sa.table(
    "case_events", sa.column("id", sa.Integer()), sa.column("case_id", sa.Integer()), sa.column("seq", sa.Integer()),
    sa.column("kind", sa.String()), sa.column("actor", sa.String()), sa.column("actor_unit_id", sa.Integer()),
    sa.column("from_state", sa.String()), sa.column("to_state", sa.String()), sa.column("from_level", sa.String()),
    sa.column("to_level", sa.String()), sa.column("reason", sa.Text()), sa.column("public", sa.Boolean()),
    sa.column("at", UTCDateTime()), sa.column("inbox_id", sa.Integer()), sa.column("prev_hash", sa.String()),
    sa.column("row_hash", sa.String()))
_BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("row_hash", sa.String(length=64), nullable=True))

    op.create_table("admin_audit",
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(length=64), nullable=False),
    sa.Column("actor_unit", sa.String(length=64), nullable=True),
    sa.Column("action", sa.String(length=60), nullable=False),
    sa.Column("target", sa.String(length=200), nullable=False),
    sa.Column("detail", sa.JSON(), nullable=False),
    sa.Column("prev_hash", sa.String(length=64), nullable=False),
    sa.Column("row_hash", sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_audit")),
    sa.UniqueConstraint("seq", name=op.f("uq_admin_audit_seq"))
    )
    with op.batch_alter_table("admin_audit", schema=None) as batch_op:
        batch_op.create_index("ix_admin_audit_action_at", ["action", "at"], unique=False)
        batch_op.create_index("ix_admin_audit_actor_at", ["actor", "at"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_audit_at"), ["at"], unique=False)

    _chain_existing_steps()


def _chain_existing_steps() -> None:
    """Chain every stored step to the one before it, case by case, as new steps are chained."""
    conn = op.get_bind()
    columns = [getattr(_steps.c, name) for name in CHAINED]
    query = sa.select(_steps.c.id, *columns).order_by(_steps.c.case_id, _steps.c.seq)
    update = (sa.update(_steps).where(_steps.c.id == sa.bindparam("step_id"))
              .values(prev_hash=sa.bindparam("p"), row_hash=sa.bindparam("h")))
    rows = conn.execute(query).all()  # ids and content only; hashes written back in batches
    pending: list[dict[str, object]] = []
    case_id, prev = None, GENESIS
    for row in rows:
        if row.case_id != case_id:
            case_id, prev = row.case_id, GENESIS
        values = [getattr(row, name) for name in CHAINED]
        row_hash = link(values, prev)
        pending.append({"step_id": row.id, "p": prev, "h": row_hash})
        prev = row_hash
        if len(pending) >= _BATCH:
            conn.execute(update, pending)
            pending = []
    if pending:
        conn.execute(update, pending)


def downgrade() -> None:
    with op.batch_alter_table("admin_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_audit_at"))
        batch_op.drop_index("ix_admin_audit_actor_at")
        batch_op.drop_index("ix_admin_audit_action_at")
    op.drop_table("admin_audit")
    with op.batch_alter_table("case_events", schema=None) as batch_op:
        batch_op.drop_column("row_hash")
        batch_op.drop_column("prev_hash")
