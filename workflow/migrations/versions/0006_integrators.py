"""integrators: API keys, the requests they filed, cases filed by one, and units' areas

Revision ID: 0006_integrators
Revises: 0005_photo_originals
Create Date: 2026-12-02 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_integrators"
down_revision = "0005_photo_originals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.add_column(sa.Column("area", sa.JSON(), nullable=True))
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filed_by_integrator", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))

    op.create_table(
        "integrators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=12), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("rate", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("answer", sa.String(length=10), server_default="realtime", nullable=False),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("webhook_secret", sa.String(length=200), nullable=True),
        sa.Column("language", sa.String(length=10), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrators")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_integrators_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_integrators_name")),
        sa.UniqueConstraint("source", name=op.f("uq_integrators_source")),
    )
    op.create_table(
        "integrator_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integrator_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=40), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("address", sa.String(length=500), nullable=True),
        sa.Column("address_id", sa.String(length=64), nullable=True),
        sa.Column("media_url", sa.String(length=1000), nullable=True),
        sa.Column("attributes", sa.JSON(), nullable=True),
        sa.Column("contact", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_integrator_requests_case_id_cases")),
        sa.ForeignKeyConstraint(["integrator_id"], ["integrators.id"],
                                name=op.f("fk_integrator_requests_integrator_id_integrators")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrator_requests")),
        sa.UniqueConstraint("case_id", name=op.f("uq_integrator_requests_case_id")),
        sa.UniqueConstraint("token", name=op.f("uq_integrator_requests_token")),
    )
    with op.batch_alter_table("integrator_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_integrator_requests_integrator_id"), ["integrator_id"], unique=False)
        batch_op.create_index("ix_integrator_requests_retry", ["integrator_id", "digest", "created_at"],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table("integrator_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_integrator_requests_retry")
        batch_op.drop_index(batch_op.f("ix_integrator_requests_integrator_id"))
    op.drop_table("integrator_requests")
    op.drop_table("integrators")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("filed_by_integrator")
    with op.batch_alter_table("units", schema=None) as batch_op:
        batch_op.drop_column("area")
