"""analysis: the facts derived from each case's timeline, their daily tallies, the monthly report snapshots, the exports on record

Revision ID: 0008_analysis
Revises: 0007_sessions
Create Date: 2026-12-02 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_analysis"
down_revision = "0007_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('analysis_daily',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('grid_unit_id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['grid_unit_id'], ['units.id'], name=op.f('fk_analysis_daily_grid_unit_id_units')),
    sa.PrimaryKeyConstraint('day', 'grid_unit_id', 'measure', name=op.f('pk_analysis_daily'))
    )
    op.create_table('analysis_exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_name', sa.String(length=64), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('file_format', sa.String(length=8), nullable=False),
    sa.Column('case_count', sa.Integer(), nullable=False),
    sa.Column('case_ids', sa.JSON(), nullable=False),
    sa.Column('unmasked', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_analysis_exports_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_exports'))
    )
    with op.batch_alter_table('analysis_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_analysis_exports_at'), ['at'], unique=False)

    op.create_table('analysis_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('requested_by', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('facts_as_of', sa.DateTime(timezone=True), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_analysis_reports_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analysis_reports'))
    )
    with op.batch_alter_table('analysis_reports', schema=None) as batch_op:
        batch_op.create_index('ix_analysis_reports_unit_month', ['unit_id', 'month'], unique=False)

    op.create_table('analysis_case_facts',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('grid_unit_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=8), nullable=False),
    sa.Column('severity', sa.String(length=4), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contact_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('responded', sa.Boolean(), nullable=False),
    sa.Column('contact_work_s', sa.Float(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('in_grid', sa.Boolean(), nullable=False),
    sa.Column('resolution_work_s', sa.Float(), nullable=True),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('on_time', sa.Boolean(), nullable=False),
    sa.Column('overdue_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('supervised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_resident', sa.Boolean(), nullable=False),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('reopened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_resolved', sa.String(length=10), nullable=True),
    sa.Column('answer_satisfaction', sa.Integer(), nullable=True),
    sa.Column('derived_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_analysis_case_facts_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['grid_unit_id'], ['units.id'], name=op.f('fk_analysis_case_facts_grid_unit_id_units')),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_analysis_case_facts'))
    )
    with op.batch_alter_table('analysis_case_facts', schema=None) as batch_op:
        batch_op.create_index('ix_analysis_facts_answered_at', ['answered_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_closed_at', ['closed_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_contact_at', ['contact_at', 'grid_unit_id'], unique=False, postgresql_include=['contact_work_s'])
        batch_op.create_index('ix_analysis_facts_contact_due_at', ['contact_due_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_ended_at', ['ended_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_overdue_at', ['overdue_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_received_at', ['received_at', 'grid_unit_id'], unique=False, postgresql_include=['channel', 'category', 'severity'])
        batch_op.create_index('ix_analysis_facts_reopened_at', ['reopened_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_resolved_at', ['resolved_at', 'grid_unit_id'], unique=False, postgresql_include=['resolution_work_s'])
        batch_op.create_index('ix_analysis_facts_settled_at', ['settled_at', 'grid_unit_id'], unique=False)
        batch_op.create_index('ix_analysis_facts_supervised_at', ['supervised_at', 'grid_unit_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('analysis_case_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_analysis_facts_supervised_at')
        batch_op.drop_index('ix_analysis_facts_settled_at')
        batch_op.drop_index('ix_analysis_facts_resolved_at')
        batch_op.drop_index('ix_analysis_facts_reopened_at')
        batch_op.drop_index('ix_analysis_facts_received_at')
        batch_op.drop_index('ix_analysis_facts_overdue_at')
        batch_op.drop_index('ix_analysis_facts_ended_at')
        batch_op.drop_index('ix_analysis_facts_contact_due_at')
        batch_op.drop_index('ix_analysis_facts_contact_at')
        batch_op.drop_index('ix_analysis_facts_closed_at')
        batch_op.drop_index('ix_analysis_facts_answered_at')

    op.drop_table('analysis_case_facts')
    with op.batch_alter_table('analysis_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_analysis_reports_unit_month')

    op.drop_table('analysis_reports')
    with op.batch_alter_table('analysis_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_analysis_exports_at'))

    op.drop_table('analysis_exports')
    op.drop_table('analysis_daily')
