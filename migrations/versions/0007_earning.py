"""earning: rates, activity categories (seeded), organisations, activities, attendance, contributions

Contributions are decided once: the database refuses to change a contribution's facts, to change it at all
once it is posted or rejected, and to delete one (triggers, SQLite and PostgreSQL). Attendance rows may only
be checked out, once; goods lines are never changed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OPEN_STAY = "checked_out_at IS NULL"

# The standard categories (pos/demo_data/activity_categories.csv at the time of this migration; a test checks
# they agree). Later changes of rates are the bureau's, through the API, not a migration.
CATEGORIES = [
    ("环境整治", "environment cleanup", 10),
    ("助老服务", "elderly care visits", 12),
    ("文明宣讲", "civic lectures", 8),
    ("矛盾调解", "dispute mediation", 15),
    ("疫情防控", "public-health duty", 10),
    ("助学帮困", "tutoring and school aid", 10),
    ("应急救援", "emergency relief", 20),
    ("其他志愿服务", "other volunteering", 10),
]

# What may never change on a contribution, decided or not.
CONTRIBUTION_FACTS = ("id", "store_id", "member_id", "organisation_id", "kind", "minutes", "started_at", "ended_at",
                      "occurred_at", "amount_fen", "rate_points", "rate_per", "points", "activity_id", "category_id",
                      "note", "recorded_by", "recorded_at")
ATTENDANCE_FACTS = ("id", "activity_id", "member_id", "checked_in_at", "checked_in_by")


def _changed(columns: tuple[str, ...], distinct: str) -> str:
    return " OR ".join(f"NEW.{c} {distinct} OLD.{c}" for c in columns)


def create_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION earning_refuse(what text) RETURNS void LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'earning records are kept: %', what USING ERRCODE = 'restrict_violation';
            END
            $$
            """
        )
        op.execute(
            f"""
            CREATE FUNCTION contributions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
                    PERFORM earning_refuse('a contribution is never deleted');
                ELSIF OLD.status <> 'pending' THEN
                    PERFORM earning_refuse('a decided contribution does not change');
                ELSIF {_changed(CONTRIBUTION_FACTS, "IS DISTINCT FROM")} THEN
                    PERFORM earning_refuse('a contribution''s facts do not change');
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        op.execute(
            f"""
            CREATE FUNCTION attendances_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP IN ('DELETE', 'TRUNCATE') THEN
                    PERFORM earning_refuse('an attendance is never deleted');
                ELSIF OLD.checked_out_at IS NOT NULL THEN
                    PERFORM earning_refuse('a checked-out attendance does not change');
                ELSIF {_changed(ATTENDANCE_FACTS, "IS DISTINCT FROM")} THEN
                    PERFORM earning_refuse('a check-in does not change');
                END IF;
                RETURN NEW;
            END
            $$
            """
        )
        op.execute(
            """
            CREATE FUNCTION contribution_lines_guard() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM earning_refuse('goods lines do not change');
                RETURN NULL;
            END
            $$
            """
        )
        for table in ("contributions", "attendances", "contribution_lines"):
            op.execute(f"CREATE TRIGGER {table}_kept BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION {table}_guard()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_guard()")
        return
    refusals = {
        "contributions_no_delete": ("DELETE", "contributions", None, "a contribution is never deleted"),
        "contributions_decided_once": ("UPDATE", "contributions", "OLD.status <> 'pending'",
                                       "a decided contribution does not change"),
        "contributions_facts_kept": ("UPDATE", "contributions", _changed(CONTRIBUTION_FACTS, "IS NOT"),
                                     "a contribution's facts do not change"),
        "attendances_no_delete": ("DELETE", "attendances", None, "an attendance is never deleted"),
        "attendances_out_once": ("UPDATE", "attendances", "OLD.checked_out_at IS NOT NULL",
                                 "a checked-out attendance does not change"),
        "attendances_facts_kept": ("UPDATE", "attendances", _changed(ATTENDANCE_FACTS, "IS NOT"),
                                   "a check-in does not change"),
        "contribution_lines_no_update": ("UPDATE", "contribution_lines", None, "goods lines do not change"),
        "contribution_lines_no_delete": ("DELETE", "contribution_lines", None, "goods lines do not change"),
    }
    for name, (action, table, when, message) in refusals.items():
        condition = f" WHEN {when}" if when else ""
        message = message.replace("'", "''")
        op.execute(f"CREATE TRIGGER {name} BEFORE {action} ON {table}{condition} "
                   f"BEGIN SELECT RAISE(ABORT, 'earning records are kept: {message}'); END")


def drop_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in ("contributions", "attendances", "contribution_lines"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_kept ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_guard()")
        op.execute("DROP FUNCTION IF EXISTS earning_refuse(text)")
        return
    for name in ("contributions_no_delete", "contributions_decided_once", "contributions_facts_kept",
                 "attendances_no_delete", "attendances_out_once", "attendances_facts_kept",
                 "contribution_lines_no_update", "contribution_lines_no_delete"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


def upgrade() -> None:
    categories = op.create_table(
        "activity_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(length=40), nullable=False),
        sa.Column("name_en", sa.String(length=80), nullable=False),
        sa.Column("points_per_hour", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("points_per_hour IS NULL OR (points_per_hour > 0 AND points_per_hour <= 1000)",
                           name=op.f("ck_activity_categories_points_per_hour")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activity_categories")),
        sa.UniqueConstraint("name_zh", name=op.f("uq_activity_categories_name_zh")),
    )
    seeded_at = datetime(2026, 12, 3, tzinfo=UTC)
    op.bulk_insert(categories, [
        {"name_zh": zh, "name_en": en, "points_per_hour": rate, "active": True, "updated_at": seeded_at,
         "updated_by": "migration"}
        for zh, en, rate in CATEGORIES
    ])
    op.create_table(
        "earning_rates",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("points_per_hour", sa.Integer(), nullable=False),
        sa.Column("cash_points", sa.Integer(), nullable=False),
        sa.Column("cash_per_fen", sa.Integer(), nullable=False),
        sa.Column("updated_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.CheckConstraint("cash_points > 0 AND cash_per_fen > 0", name=op.f("ck_earning_rates_cash_rate")),
        sa.CheckConstraint("id = 1", name=op.f("ck_earning_rates_single_row")),
        sa.CheckConstraint("points_per_hour > 0 AND points_per_hour <= 1000",
                           name=op.f("ck_earning_rates_points_per_hour")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earning_rates")),
    )
    op.create_table(
        "activities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("organiser", sa.String(length=64), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["category_id"], ["activity_categories.id"],
                                name=op.f("fk_activities_category_id_activity_categories")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_activities_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_activities")),
    )
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.create_index("ix_activities_store_id_starts_at", ["store_id", "starts_at"], unique=False)

    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("created_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["ledger_accounts.id"],
                                name=op.f("fk_organisations_account_id_ledger_accounts")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_organisations_store_id_stores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("account_id", name=op.f("uq_organisations_account_id")),
        sa.UniqueConstraint("store_id", "name", name=op.f("uq_organisations_store_id")),
    )
    op.create_table(
        "contributions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("started_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("occurred_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("rate_points", sa.Integer(), nullable=True),
        sa.Column("rate_per", sa.Integer(), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=True),
        sa.Column("category_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("transfer_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name=op.f("ck_contributions_decided_at")),
        sa.CheckConstraint("(status = 'posted') = (transfer_seq IS NOT NULL)",
                           name=op.f("ck_contributions_posted_has_transfer")),
        sa.CheckConstraint("kind <> 'donation_cash' OR amount_fen > 0", name=op.f("ck_contributions_cash")),
        sa.CheckConstraint("kind <> 'volunteer_hours' OR (member_id IS NOT NULL AND minutes > 0 AND minutes <= 1440)",
                           name=op.f("ck_contributions_hours")),
        sa.CheckConstraint("kind IN ('volunteer_hours', 'donation_cash', 'donation_goods')",
                           name=op.f("ck_contributions_kind")),
        sa.CheckConstraint("status <> 'rejected' OR reason IS NOT NULL",
                           name=op.f("ck_contributions_rejected_has_reason")),
        sa.CheckConstraint("status IN ('pending', 'posted', 'rejected')", name=op.f("ck_contributions_status")),
        sa.CheckConstraint("(decided_at IS NULL) = (decided_by IS NULL)", name=op.f("ck_contributions_decided_by")),
        sa.CheckConstraint("(member_id IS NULL) <> (organisation_id IS NULL)", name=op.f("ck_contributions_one_donor")),
        sa.CheckConstraint("(rate_points IS NULL) = (rate_per IS NULL)", name=op.f("ck_contributions_rate")),
        sa.CheckConstraint("(started_at IS NULL) = (ended_at IS NULL)", name=op.f("ck_contributions_timed")),
        sa.CheckConstraint("points > 0", name=op.f("ck_contributions_points_positive")),
        sa.CheckConstraint("started_at IS NULL OR ended_at > started_at",
                           name=op.f("ck_contributions_end_after_start")),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"],
                                name=op.f("fk_contributions_activity_id_activities")),
        sa.ForeignKeyConstraint(["category_id"], ["activity_categories.id"],
                                name=op.f("fk_contributions_category_id_activity_categories")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_contributions_member_id_members")),
        sa.ForeignKeyConstraint(["organisation_id"], ["organisations.id"],
                                name=op.f("fk_contributions_organisation_id_organisations")),
        sa.ForeignKeyConstraint(["store_id"], ["stores.id"], name=op.f("fk_contributions_store_id_stores")),
        sa.ForeignKeyConstraint(["transfer_seq"], ["ledger_transfers.seq"],
                                name=op.f("fk_contributions_transfer_seq_ledger_transfers")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributions")),
        sa.UniqueConstraint("transfer_seq", name=op.f("uq_contributions_transfer_seq")),
    )
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contributions_activity_id"), ["activity_id"], unique=False)
        batch_op.create_index("ix_contributions_member_id_occurred_at", ["member_id", "occurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_contributions_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index("ix_contributions_store_id_occurred_at", ["store_id", "occurred_at"], unique=False)
        batch_op.create_index("ix_contributions_store_id_status_recorded_at", ["store_id", "status", "recorded_at"],
                              unique=False)

    op.create_table(
        "attendances",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("checked_in_at", core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("checked_in_by", sa.String(length=64), nullable=False),
        sa.Column("checked_out_at", core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("checked_out_by", sa.String(length=64), nullable=True),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("contribution_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("(checked_out_at IS NULL) = (checked_out_by IS NULL)",
                           name=op.f("ck_attendances_checked_out_by")),
        sa.CheckConstraint("checked_out_at IS NULL OR checked_out_at >= checked_in_at",
                           name=op.f("ck_attendances_out_after_in")),
        sa.ForeignKeyConstraint(["activity_id"], ["activities.id"], name=op.f("fk_attendances_activity_id_activities")),
        sa.ForeignKeyConstraint(["contribution_id"], ["contributions.id"],
                                name=op.f("fk_attendances_contribution_id_contributions")),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_attendances_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendances")),
        sa.UniqueConstraint("contribution_id", name=op.f("uq_attendances_contribution_id")),
    )
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendances_activity_id"), ["activity_id"], unique=False)
        batch_op.create_index("ix_attendances_member_id_checked_in_at", ["member_id", "checked_in_at"], unique=False)
        # A member is checked in at most once at a time, anywhere.
        batch_op.create_index("uq_attendances_open_member", ["member_id"], unique=True,
                              sqlite_where=sa.text(OPEN_STAY), postgresql_where=sa.text(OPEN_STAY))

    op.create_table(
        "contribution_lines",
        sa.Column("contribution_id", sa.Uuid(), nullable=False),
        sa.Column("line_no", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("barcode", sa.String(length=14), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("qty", sa.Integer(), nullable=False),
        sa.Column("points_price", sa.Integer(), nullable=False),
        sa.CheckConstraint("points_price >= 0", name=op.f("ck_contribution_lines_price")),
        sa.CheckConstraint("qty > 0", name=op.f("ck_contribution_lines_qty_positive")),
        sa.ForeignKeyConstraint(["contribution_id"], ["contributions.id"],
                                name=op.f("fk_contribution_lines_contribution_id_contributions")),
        sa.PrimaryKeyConstraint("contribution_id", "line_no", name=op.f("pk_contribution_lines")),
    )
    create_triggers()


def downgrade() -> None:
    drop_triggers()
    op.drop_table("contribution_lines")
    with op.batch_alter_table("attendances", schema=None) as batch_op:
        batch_op.drop_index("uq_attendances_open_member", sqlite_where=sa.text(OPEN_STAY),
                            postgresql_where=sa.text(OPEN_STAY))
        batch_op.drop_index("ix_attendances_member_id_checked_in_at")
        batch_op.drop_index(batch_op.f("ix_attendances_activity_id"))
    op.drop_table("attendances")
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index("ix_contributions_store_id_status_recorded_at")
        batch_op.drop_index("ix_contributions_store_id_occurred_at")
        batch_op.drop_index(batch_op.f("ix_contributions_organisation_id"))
        batch_op.drop_index("ix_contributions_member_id_occurred_at")
        batch_op.drop_index(batch_op.f("ix_contributions_activity_id"))
    op.drop_table("contributions")
    op.drop_table("organisations")
    with op.batch_alter_table("activities", schema=None) as batch_op:
        batch_op.drop_index("ix_activities_store_id_starts_at")
    op.drop_table("activities")
    op.drop_table("earning_rates")
    op.drop_table("activity_categories")
