"""printing: a print job keeps its document as data and is rendered when a worker claims it

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

`payload` (ESC/POS bytes) becomes optional: jobs enqueued from a document store `document` (JSON) instead, and
each job has one or the other. Jobs already queued keep their bytes and print as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CONTENT = "payload IS NOT NULL OR document IS NOT NULL"


def upgrade() -> None:
    # SQLite: batch mode copies the table; its CHECK constraints are reflected and kept (print_jobs has no triggers).
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("document", sa.JSON(), nullable=True))
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.create_check_constraint(op.f("ck_print_jobs_content"), CONTENT)


def downgrade() -> None:
    # Jobs kept as documents get their bytes, rendered for 58 mm paper (the default) as they were before.
    from printers.documents import document_from_data
    from printers.render import render

    jobs = sa.table("print_jobs", sa.column("id", sa.Uuid()), sa.column("payload", sa.LargeBinary()),
                    sa.column("document", sa.JSON()))
    bind = op.get_bind()
    for job_id, document in bind.execute(sa.select(jobs.c.id, jobs.c.document).where(jobs.c.payload.is_(None))):
        payload = render(document_from_data(document), 58)  # type: ignore[arg-type]
        bind.execute(jobs.update().where(jobs.c.id == job_id).values(payload=payload))
    with op.batch_alter_table("print_jobs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_print_jobs_content"), type_="check")
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("document")
