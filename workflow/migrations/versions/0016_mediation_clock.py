"""mediation clock: a clock token on each mediation, for its deadline and follow-up visits; the agreement in
Traditional Chinese beside the Simplified one

Revision ID: 0016_mediation_clock
Revises: 0013_privacy_at_rest (main had it when this was written; the lead re-chains)
Create Date: 2026-12-02 03:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_mediation_clock"
down_revision = "0013_privacy_at_rest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mediations") as batch:
        batch.add_column(sa.Column("clock_token", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("agreements") as batch:
        batch.add_column(sa.Column("pdf_hant", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("sha256_hant", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agreements") as batch:
        batch.drop_column("sha256_hant")
        batch.drop_column("pdf_hant")
    with op.batch_alter_table("mediations") as batch:
        batch.drop_column("clock_token")
