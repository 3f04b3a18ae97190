"""decisions: community decisions (四议两公开), their timeline, meetings, objections and documents

Revision ID: 0015_decisions
Revises: 0016_mediation_clock
Create Date: 2026-12-02 03:20:33.034637
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_decisions"
down_revision = "0016_mediation_clock"  # main's head when last merged; the lead re-chains at merge
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('proposing_unit_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('matter', sa.Text(), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('budget', sa.String(length=200), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolution_text', sa.Text(), nullable=True),
    sa.Column('result_text', sa.Text(), nullable=True),
    sa.Column('period_kind', sa.String(length=12), nullable=True),
    sa.Column('period_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('period_counts', sa.String(length=10), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_left', sa.Float(), nullable=True),
    sa.Column('clock_token', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_decisions_case_id_cases')),
    sa.ForeignKeyConstraint(['proposing_unit_id'], ['units.id'], name=op.f('fk_decisions_proposing_unit_id_units')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_decisions_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions'))
    )
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decisions_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_decisions_unit_id'), ['unit_id'], unique=False)

    op.create_table('decision_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('file_name', sa.String(length=100), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('uploaded_by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_decision_attachments_decision_id_decisions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_attachments'))
    )
    with op.batch_alter_table('decision_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_attachments_decision_id'), ['decision_id'], unique=False)

    op.create_table('decision_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('actor_unit_id', sa.Integer(), nullable=True),
    sa.Column('from_state', sa.String(length=30), nullable=True),
    sa.Column('to_state', sa.String(length=30), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_unit_id'], ['units.id'], name=op.f('fk_decision_events_actor_unit_id_units')),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_decision_events_decision_id_decisions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inbox.id'], name=op.f('fk_decision_events_inbox_id_inbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_events')),
    sa.UniqueConstraint('decision_id', 'seq', name=op.f('uq_decision_events_decision_id_seq')),
    sa.UniqueConstraint('inbox_id', name=op.f('uq_decision_events_inbox_id'))
    )
    op.create_table('decision_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('entitled', sa.JSON(), nullable=False),
    sa.Column('present', sa.JSON(), nullable=False),
    sa.Column('votes_for', sa.Integer(), nullable=True),
    sa.Column('votes_against', sa.Integer(), nullable=True),
    sa.Column('votes_abstaining', sa.Integer(), nullable=True),
    sa.Column('minutes', sa.Text(), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.Column('entitled_from', sa.String(length=10), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_decision_meetings_decision_id_decisions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_meetings'))
    )
    with op.batch_alter_table('decision_meetings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_meetings_decision_id'), ['decision_id'], unique=False)

    op.create_table('decision_objections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('decision_id', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=12), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('phone', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_by', sa.String(length=64), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decision_id'], ['decisions.id'], name=op.f('fk_decision_objections_decision_id_decisions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decision_objections'))
    )
    with op.batch_alter_table('decision_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_decision_objections_decision_id'), ['decision_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('decision_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_objections_decision_id'))

    op.drop_table('decision_objections')
    with op.batch_alter_table('decision_meetings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_meetings_decision_id'))

    op.drop_table('decision_meetings')
    op.drop_table('decision_events')
    with op.batch_alter_table('decision_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decision_attachments_decision_id'))

    op.drop_table('decision_attachments')
    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_decisions_unit_id'))
        batch_op.drop_index(batch_op.f('ix_decisions_case_id'))

    op.drop_table('decisions')
