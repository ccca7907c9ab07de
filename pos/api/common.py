"""What every API handler shares: roles, request parsing with pydantic, and the OpenAPI metadata.

A handler declares its roles and schemas once:

    @bp.post("/stores")
    @endpoint(roles=("admin",), body=StoreIn, summary="Create a store")
    def create_store(body: StoreIn): ...
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Response, g, request
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from core.errors import Forbidden, ValidationFailed
from pos.auth import ROLES, principal_from_request

PUBLIC = "public"
DB_INT_MAX = 2**63 - 1  # the largest integer SQLite and PostgreSQL (bigint) store: bounds ids, offsets, cursors
M = TypeVar("M", bound=BaseModel)


# C0 controls other than tab and newlines, DEL, and lone surrogates: no person types them, a broken client or a
# probe does, and PostgreSQL cannot store NUL or a surrogate in text.
_UNTYPEABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _typeable(value: Any) -> Any:
    if isinstance(value, str) and _UNTYPEABLE.search(value):
        raise ValueError("contains a control character or an unpaired surrogate")
    if isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _typeable(item)
    return value


class Schema(BaseModel):
    """Base for request bodies and queries: unknown fields are refused, strings are stripped, and text a keyboard
    or scanner cannot produce is refused field by field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _only_typeable_text(cls, value: Any) -> Any:
        return _typeable(value)


@dataclass(frozen=True)
class EndpointMeta:
    roles: tuple[str, ...]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    summary: str


def endpoint(
    *,
    roles: Iterable[str] | str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    summary: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    allowed = (PUBLIC,) if roles == PUBLIC else tuple(roles)
    unknown = set(allowed) - set(ROLES) - {PUBLIC}
    if unknown:
        raise ValueError(f"unknown roles {unknown}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if allowed != (PUBLIC,):
                g.principal = principal_from_request()
                if g.principal.role not in allowed:
                    raise Forbidden("role not allowed", role=g.principal.role)
            if body is not None:
                kwargs["body"] = parse_body(body)
            if query is not None:
                kwargs["query"] = parse(query, request.args.to_dict())
            return view(*args, **kwargs)

        wrapper.api_meta = EndpointMeta(allowed, body, query, summary)  # type: ignore[attr-defined]
        return wrapper

    return decorate


def parse_body(model: type[M]) -> M:
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # "[[[[…" nested deeper than the JSON parser goes: not a body we take
        data = None
    if not isinstance(data, dict):
        raise ValidationFailed("the body must be a JSON object", body="expected a JSON object")
    return parse(model, data)


def parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details: dict[str, str] = {}
        for error in exc.errors(include_url=False, include_input=False):
            field = ".".join(str(part) for part in error["loc"]) or "body"
            details.setdefault(field, error["msg"])
        raise ValidationFailed("invalid request", **details) from None


def download(body: bytes, mimetype: str, filename: str) -> Response:
    """A file to save (an export): an ASCII name for old clients and the UTF-8 name (RFC 5987), not cached."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})
