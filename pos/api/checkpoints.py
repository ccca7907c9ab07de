"""Signed checkpoints of the journal's head (auditor, admin): make one, list them, export one, the public key.

POST /checkpoints verifies the whole journal (against the last checkpoint) in a snapshot, outside any write
lock, then signs the head it verified in a short transaction; exactly once per client id. A journal that does
not verify is refused (422 ledger_not_intact, naming the first problem), not signed.
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from flask import Blueprint, Response, current_app
from sqlalchemy.orm import Session

from ledger import snapshot_session
from pos import db
from pos.api.common import Schema, endpoint
from pos.auth import current_principal
from pos.bureau import checkpoints
from pos.idempotency import IdempotencyRecord, create_once

bp = Blueprint("checkpoints", __name__)

AUDITORS = ("auditor", "admin")
SCOPE = "checkpoints"


class CheckpointIn(Schema):
    id: UUID


def bureau_key_file() -> Path:
    return checkpoints.key_file(current_app.config, current_app.instance_path)


@bp.post("/checkpoints")
@endpoint(roles=AUDITORS, body=CheckpointIn, summary="Verify the whole journal and sign its head with the "
                                                     "bureau's key")
def make_checkpoint(body: CheckpointIn):
    principal = current_principal()
    uow = db.unit_of_work()
    replay = uow.read(lambda session: session.get(IdempotencyRecord, (SCOPE, str(body.id))) is not None)
    if not replay:
        with snapshot_session(db.database().session_factory) as session:
            report = checkpoints.verify_for_signing(session)
        if not report.ok:
            first = report.first_problem
            raise checkpoints.LedgerNotIntact("the journal does not verify", problem_count=report.problem_count,
                                              seq=first.seq if first else None, what=first.what if first else None)
        key = checkpoints.load_signing_key(bureau_key_file())

    def create(session: Session) -> tuple[dict, int]:
        made = checkpoints.sign(session, key, seq=report.head_seq, hash_hex=report.head_hash,
                                actor=principal.username, id=body.id)
        return checkpoints.document(made), 201

    answer, status = create_once(uow, SCOPE, str(body.id), body, create)
    return answer, status


@bp.get("/checkpoints")
@endpoint(roles=AUDITORS, summary="The signed checkpoints, newest first")
def list_checkpoints():
    def read(session: Session) -> dict:
        return {"checkpoints": [checkpoints.document(c) for c in checkpoints.list_checkpoints(session)]}

    return db.unit_of_work().read(read)


@bp.get("/checkpoints/public-key")
@endpoint(roles=AUDITORS, summary="The bureau's public key (PEM) that verifies its checkpoints")
def public_key():
    key = checkpoints.load_signing_key(bureau_key_file())
    public = key.public_key()
    return {"key_id": checkpoints.key_id(public), "algorithm": checkpoints.ALGORITHM,
            "public_key": checkpoints.public_pem(public)}


@bp.get("/checkpoints/<uuid:checkpoint_id>")
@endpoint(roles=AUDITORS, summary="One checkpoint as its exportable document (the signed token and its claims)")
def get_checkpoint(checkpoint_id: UUID):
    found = db.unit_of_work().read(lambda session: checkpoints.document(
        checkpoints.get_checkpoint(session, checkpoint_id)))
    response = Response(current_app.json.dumps(found), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="checkpoint-{found["seq"]}-{checkpoint_id}.json"'
    return response
