"""privacy at rest: residents' personal data encrypted, blind indexes for look-ups

Revision ID: 0013_privacy_at_rest
Revises: 0011_machine_kinds
Create Date: 2026-12-02 03:40:00

The columns holding names, phones, ID numbers, addresses and the raw events become text
holding ciphertext; rows already stored are encrypted here, with the keys configured when
the migration runs (README.md, "Keys"), and their blind indexes computed. Reading stays
possible for a row the migration did not reach (a value without the ``gc1:`` prefix is
read as it is), and ``gridcase keys rotate`` encrypts any such row later.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from workflow.base.vault import Field, rekey

revision = "0013_privacy_at_rest"
down_revision = "0011_machine_kinds"
branch_labels = None
depends_on = None

# (table, column, type before): the columns encrypted by this revision.
_TEXT = [
    ("case_parties", "name", sa.String(64)), ("case_parties", "phone", sa.String(32)),
    ("registry_residents", "name", sa.String(64)), ("registry_residents", "phone", sa.String(255)),
    ("registry_residents", "id_number", sa.String(255)), ("registry_party_members", "phone", sa.String(255)),
    ("registry_visits", "met", sa.String(100)), ("mediation_parties", "witness", sa.String(100)),
    ("agreement_signatures", "signer_name", sa.String(64)), ("deliveries", "target", sa.String(500)),
]
_JSON = [("agreements", "party_facts", False), ("integrator_requests", "contact", True), ("inbox", "data", False),
         ("registry_steps", "detail", False), ("mediation_sessions", "attendees", False)]

FIELDS = [Field(t, c, {("registry_residents", "phone"): ("phone_index", "phone"),
                       ("registry_residents", "id_number"): ("id_number_index", "id_number"),
                       ("registry_party_members", "phone"): ("phone_index", "phone")}.get((t, c)))
          for t, c, _ in _TEXT] + [Field(t, c) for t, c, _ in _JSON]


def _to_text(table: str, name: str, before: sa.types.TypeEngine[Any], nullable: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # json has no implicit cast to text: say how.
        op.alter_column(table, name, type_=sa.Text(), existing_type=before, existing_nullable=nullable,
                        postgresql_using=f"{name}::text")
    else:
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column(name, type_=sa.Text(), existing_type=before, existing_nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("registry_residents") as batch_op:
        batch_op.add_column(sa.Column("phone_index", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("id_number_index", sa.String(length=32), nullable=True))
        batch_op.drop_constraint("uq_registry_residents_id_number", type_="unique")
        batch_op.create_index(batch_op.f("ix_registry_residents_phone_index"), ["phone_index"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_registry_residents_id_number_index"), ["id_number_index"])
    with op.batch_alter_table("registry_party_members") as batch_op:
        batch_op.add_column(sa.Column("phone_index", sa.String(length=32), nullable=True))
        batch_op.drop_constraint("uq_registry_party_members_branch_unit_id_name_phone", type_="unique")
        batch_op.create_unique_constraint(batch_op.f("uq_registry_party_members_branch_unit_id_name_phone_index"),
                                          ["branch_unit_id", "name", "phone_index"])
    nullable = {("case_parties", "name"): False, ("registry_residents", "name"): False,
                ("agreement_signatures", "signer_name"): False, ("deliveries", "target"): False}
    for table, name, before in _TEXT:
        _to_text(table, name, before, nullable.get((table, name), True))
    for table, name, is_nullable in _JSON:
        _to_text(table, name, sa.JSON(), is_nullable)
    rekey(op.get_bind(), FIELDS)


def downgrade() -> None:
    raise NotImplementedError("encrypted values cannot go back into the narrower plaintext columns")
