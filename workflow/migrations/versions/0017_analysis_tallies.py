"""analysis tallies: daily digests for the medians, the mediation outcome among a case's facts

Revision ID: 0017_analysis_tallies
Revises: 0018_registry_risks
Create Date: 2026-12-02 03:30:00

The breakdowns' counts are new measures of ``analysis_daily`` and the medians' histograms a
new table; both are filled by rebuilding from the facts, and the facts need their new columns
derived. Forgetting the refresh's last run makes the next run (beat, or ``gridcase analysis
refresh``) derive every case again and rebuild every tally.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_analysis_tallies"
down_revision = "0018_registry_risks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "analysis_daily_digests",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("grid_unit_id", sa.Integer(), nullable=False),
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("bins", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["grid_unit_id"], ["units.id"],
                                name=op.f("fk_analysis_daily_digests_grid_unit_id_units")),
        sa.PrimaryKeyConstraint("day", "grid_unit_id", "figure", name=op.f("pk_analysis_daily_digests")),
    )
    with op.batch_alter_table("analysis_daily", schema=None) as batch_op:
        batch_op.create_index("ix_analysis_daily_measure", ["measure", "grid_unit_id", "day"], unique=False,
                              postgresql_include=["value"])
    with op.batch_alter_table("analysis_case_facts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mediation_ended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("mediation_agreed", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_analysis_facts_mediation_ended_at", ["mediation_ended_at", "grid_unit_id"],
                              unique=False)
    op.execute("DELETE FROM heartbeats WHERE name = 'analysis_refresh'")


def downgrade() -> None:
    with op.batch_alter_table("analysis_case_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_analysis_facts_mediation_ended_at")
        batch_op.drop_column("mediation_agreed")
        batch_op.drop_column("mediation_ended_at")
    op.drop_table("analysis_daily_digests")
    with op.batch_alter_table("analysis_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_analysis_daily_measure")
    op.execute("DELETE FROM analysis_daily WHERE measure LIKE 'kind.%'")
