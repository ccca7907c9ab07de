from __future__ import annotations

from flask import Blueprint
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.stores import Store, create_store
from pos import db
from pos.api.common import Schema, endpoint
from pos.idempotency import create_once

bp = Blueprint("stores", __name__)


class StoreIn(Schema):
    code: str = Field(pattern=r"^[A-Z0-9]{2,16}$")
    name: str = Field(min_length=1, max_length=100)


def store_json(store: Store) -> dict:
    return {"id": store.id, "code": store.code, "name": store.name}


@bp.post("/stores")
@endpoint(roles=("admin",), body=StoreIn, summary="Create a store")
def create(body: StoreIn):
    def work(session: Session):
        return store_json(create_store(session, body.code, body.name)), 201

    answer, status = create_once(db.unit_of_work(), "stores", body.code, body, work)
    return answer, status


@bp.get("/stores")
@endpoint(roles=("admin", "auditor", "manager", "clerk", "coordinator", "print_agent"), summary="List stores")
def list_stores():
    stores = db.session().scalars(select(Store).order_by(Store.code))
    return {"stores": [store_json(s) for s in stores]}
