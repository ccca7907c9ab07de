"""Shifts (交班/日结): a clerk's shift opens with their first sale; closing it prints the Z report.

A clerk closes their own shift; a manager closes their own, or a clerk's of their shop by naming them. Closing is
exactly once by the request's `id`; closing when nothing is open is 422 `no_open_shift`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from flask import Blueprint
from pydantic import Field

from pos import db
from pos.api.common import Schema, endpoint
from pos.auth import USERNAME_PATTERN, current_principal
from pos.services import checkout

bp = Blueprint("shifts", __name__)

SELLERS = ("clerk", "manager")
READERS = ("clerk", "manager", "auditor", "admin")

StoreCode = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,16}$")]
Username = Annotated[str, Field(pattern=USERNAME_PATTERN)]


class CloseIn(Schema):
    id: uuid.UUID = Field(description="the client's id of this close: a retry answers the same report")
    clerk: Username | None = Field(default=None, description="manager only: close this user's shift")


class ShiftsQuery(Schema):
    store: StoreCode | None = None
    clerk: Username | None = None
    status: Literal["open", "closed"] | None = None
    limit: int = Field(default=50, ge=1, le=200)


@bp.post("/shifts/close")
@endpoint(roles=SELLERS, body=CloseIn, summary="Close the shift: the Z report (stored and queued for printing)")
def close(body: CloseIn):
    return checkout.close_shift_once(db.unit_of_work(), current_principal(),
                                     checkout.CloseShiftCommand(body.id, body.clerk))


@bp.get("/shifts/current")
@endpoint(roles=SELLERS, summary="The caller's open shift and its figures so far ({shift: null} before a sale)")
def current():
    return {"shift": checkout.current_shift(db.session(), current_principal())}


@bp.get("/shifts")
@endpoint(roles=READERS, query=ShiftsQuery, summary="A shop's shifts, the most recently opened first")
def list_shifts(query: ShiftsQuery):
    return checkout.list_shifts(db.session(), current_principal(), query.store, clerk=query.clerk,
                                status=query.status, limit=query.limit)


@bp.get("/shifts/<shift_id>")
@endpoint(roles=READERS, summary="A shift's Z report (figures so far while it is open)")
def get_shift(shift_id: str):
    return checkout.get_shift(db.session(), current_principal(), shift_id)
