"""mediation

Revision ID: 0010_mediation
Revises: 0009_registry
Create Date: 2026-12-02 01:01:51.146495
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_mediation"
down_revision = "0009_registry"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('mediations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('proposed_by', sa.String(length=64), nullable=False),
    sa.Column('proposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.Column('revealed_to', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_mediations_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_mediations_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediations'))
    )
    with op.batch_alter_table('mediations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediations_case_id'), ['case_id'], unique=False)

    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mediation_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('party_facts', sa.JSON(), nullable=False),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.Column('responsibility', sa.Text(), nullable=False),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('drafted_by', sa.String(length=64), nullable=False),
    sa.Column('drafted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('effective_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded', sa.Boolean(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['mediation_id'], ['mediations.id'], name=op.f('fk_agreements_mediation_id_mediations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('mediation_id', 'version', name=op.f('uq_agreements_mediation_id_version'))
    )
    op.create_table('mediation_mediators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mediation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by', sa.String(length=64), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mediation_id'], ['mediations.id'], name=op.f('fk_mediation_mediators_mediation_id_mediations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mediation_mediators_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_mediators')),
    sa.UniqueConstraint('mediation_id', 'user_id', name=op.f('uq_mediation_mediators_mediation_id_user_id'))
    )
    op.create_table('mediation_parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mediation_id', sa.Integer(), nullable=False),
    sa.Column('case_party_id', sa.Integer(), nullable=False),
    sa.Column('answer', sa.String(length=4), nullable=True),
    sa.Column('given_as', sa.String(length=20), nullable=True),
    sa.Column('witness', sa.String(length=100), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_party_id'], ['case_parties.id'], name=op.f('fk_mediation_parties_case_party_id_case_parties')),
    sa.ForeignKeyConstraint(['mediation_id'], ['mediations.id'], name=op.f('fk_mediation_parties_mediation_id_mediations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_parties')),
    sa.UniqueConstraint('mediation_id', 'case_party_id', name=op.f('uq_mediation_parties_mediation_id_case_party_id'))
    )
    op.create_table('mediation_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mediation_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('mediators', sa.JSON(), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('record', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mediation_id'], ['mediations.id'], name=op.f('fk_mediation_sessions_mediation_id_mediations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mediation_sessions'))
    )
    with op.batch_alter_table('mediation_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mediation_sessions_mediation_id'), ['mediation_id'], unique=False)

    op.create_table('agreement_signatures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('signer', sa.String(length=40), nullable=False),
    sa.Column('signer_name', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=20), nullable=False),
    sa.Column('image', sa.LargeBinary(), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_signatures_agreement_id_agreements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_signatures')),
    sa.UniqueConstraint('agreement_id', 'signer', name=op.f('uq_agreement_signatures_agreement_id_signer'))
    )



def downgrade() -> None:

    op.drop_table('agreement_signatures')
    with op.batch_alter_table('mediation_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediation_sessions_mediation_id'))

    op.drop_table('mediation_sessions')
    op.drop_table('mediation_parties')
    op.drop_table('mediation_mediators')
    op.drop_table('agreements')
    with op.batch_alter_table('mediations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mediations_case_id'))

    op.drop_table('mediations')

