from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pos import db
from pos.api.common import PUBLIC, endpoint
from pos.errors import error_response

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@endpoint(roles=PUBLIC, summary="200 when the database answers")
def healthz():
    try:
        db.session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        return error_response("service_unavailable", 503)
    return {"status": "ok", "database": db.database().engine.dialect.name}
