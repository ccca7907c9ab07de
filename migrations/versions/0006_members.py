"""members: members (with consent and their points account) and member cards

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ONLY_ACTIVE = "status = 'active'"


def upgrade() -> None:
    op.create_table(
        "members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=True),
        sa.Column("household", sa.String(length=32), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("consent_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("consent_recorded_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.CheckConstraint("status IN ('active', 'closed')", name=op.f("ck_members_status")),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_members_account_id_ledger_accounts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_members_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("account_id", name=op.f("uq_members_account_id")),
    )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_members_household"), ["household"], unique=False)
        batch_op.create_index(batch_op.f("ix_members_phone"), ["phone"], unique=False)
        batch_op.create_index("ix_members_store_id_name", ["store_id", "name"], unique=False)

    op.create_table(
        "member_cards",
        sa.Column("card_number", sa.String(length=16), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("issued_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("blocked_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.String(length=16), nullable=True),
        sa.CheckConstraint("(status = 'blocked') = (blocked_at IS NOT NULL)",
                           name=op.f("ck_member_cards_blocked_at")),
        sa.CheckConstraint("status IN ('active', 'blocked')", name=op.f("ck_member_cards_status")),
        sa.CheckConstraint("length(card_number) = 16", name=op.f("ck_member_cards_card_number_length")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_member_cards_member_id_members")),
        sa.ForeignKeyConstraint(["replaced_by"], ["member_cards.card_number"],
                                name=op.f("fk_member_cards_replaced_by_member_cards")),
        sa.PrimaryKeyConstraint("card_number", name=op.f("pk_member_cards")),
    )
    with op.batch_alter_table("member_cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_cards_member_id"), ["member_id"], unique=False)
        # At most one card in use per member.
        batch_op.create_index("uq_member_cards_active_member", ["member_id"], unique=True,
                              sqlite_where=sa.text(ONLY_ACTIVE), postgresql_where=sa.text(ONLY_ACTIVE))


def downgrade() -> None:
    with op.batch_alter_table("member_cards", schema=None) as batch_op:
        batch_op.drop_index("uq_member_cards_active_member")
        batch_op.drop_index(batch_op.f("ix_member_cards_member_id"))
    op.drop_table("member_cards")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_store_id_name")
        batch_op.drop_index(batch_op.f("ix_members_phone"))
        batch_op.drop_index(batch_op.f("ix_members_household"))
    op.drop_table("members")
