"""registry risks: the risk register (矛盾隐患台账), cases linked to their household, import jobs

Revision ID: 0018_registry_risks
Revises: 0012_resident_reports
Create Date: 2026-12-02 03:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_registry_risks"
down_revision = "0012_resident_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('registry_risks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.Column('grid_unit_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.String(length=2000), nullable=False),
    sa.Column('next_check_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('clock_token', sa.Integer(), nullable=False),
    sa.Column('warned_level', sa.String(length=20), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('opened_by', sa.String(length=64), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_checked_by', sa.String(length=64), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_registry_risks_case_id_cases')),
    sa.ForeignKeyConstraint(['grid_unit_id'], ['units.id'], name=op.f('fk_registry_risks_grid_unit_id_units')),
    sa.ForeignKeyConstraint(['household_id'], ['registry_households.id'],
                            name=op.f('fk_registry_risks_household_id_registry_households')),
    sa.ForeignKeyConstraint(['visit_id'], ['registry_visits.id'], name=op.f('fk_registry_risks_visit_id_registry_visits')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_risks'))
    )
    with op.batch_alter_table('registry_risks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_risks_household_id'), ['household_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_registry_risks_grid_unit_id'), ['grid_unit_id'], unique=False)
        batch_op.create_index('ix_registry_risks_open', ['status', 'next_check_on'], unique=False)

    op.create_table('registry_case_households',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_registry_case_households_case_id_cases')),
    sa.ForeignKeyConstraint(['household_id'], ['registry_households.id'],
                            name=op.f('fk_registry_case_households_household_id_registry_households')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_registry_case_households'))
    )
    with op.batch_alter_table('registry_case_households', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registry_case_households_household_id'), ['household_id'], unique=False)

    op.create_table('registry_import_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('path', sa.String(length=500), nullable=False),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('good_rows_only', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('total', sa.Integer(), nullable=True),
    sa.Column('done_rows', sa.Integer(), nullable=False),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registry_import_jobs'))
    )


def downgrade() -> None:
    op.drop_table('registry_import_jobs')
    with op.batch_alter_table('registry_case_households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registry_case_households_household_id'))
    op.drop_table('registry_case_households')
    with op.batch_alter_table('registry_risks', schema=None) as batch_op:
        batch_op.drop_index('ix_registry_risks_open')
        batch_op.drop_index(batch_op.f('ix_registry_risks_grid_unit_id'))
        batch_op.drop_index(batch_op.f('ix_registry_risks_household_id'))
    op.drop_table('registry_risks')
