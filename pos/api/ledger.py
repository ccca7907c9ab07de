"""GET /ledger/verify and GET /ledger/export: the bureau's view of the journal (auditor, admin)."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain

from flask import Blueprint, Response
from pydantic import Field

from ledger import export_lines, snapshot_session, verify
from pos import db
from pos.api.common import Schema, endpoint

bp = Blueprint("ledger", __name__)

AUDIT_ROLES = ("auditor", "admin")


class ExportQuery(Schema):
    after_seq: int = Field(default=0, ge=0, description="Export the transfers after this seq")


@bp.get("/ledger/verify")
@endpoint(roles=AUDIT_ROLES, summary="Verify the ledger: hash chain, gapless seq, every balance")
def verify_ledger():
    with snapshot_session(db.database().session_factory) as session:
        report = verify(session)
    return report.to_dict()


@bp.get("/ledger/export")
@endpoint(roles=AUDIT_ROLES, query=ExportQuery, summary="The journal as NDJSON (one transfer a line) after a seq")
def export_ledger(query: ExportQuery):
    lines = _export(query.after_seq)
    header = next(lines)  # a bad after_seq fails here, as a proper error response, before streaming starts
    return Response(chain([header], lines), mimetype="application/x-ndjson", headers={
        "Content-Disposition": f'attachment; filename="creditmart-ledger-after-{query.after_seq}.ndjson"'})


def _export(after_seq: int) -> Iterator[str]:
    # Its own snapshot session, open for as long as the client reads: the request's session ends with the view.
    with snapshot_session(db.database().session_factory) as session:
        yield from export_lines(session, after_seq)
