"""Every error on /api/ answers in API.md's shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from core.errors import DomainError
from pos.i18n import has, negotiate, translate

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[str, int] = {
    "validation_error": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "four_eyes": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "idempotency_conflict": 409,
    "already_voided": 409,
    "already_decided": 409,
    "already_reversed": 409,
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,
    "internal_error": 500,
    "service_unavailable": 503,
}
# Anything a business rule refuses that is not listed above is a 422 (insufficient_points, ...).
DEFAULT_DOMAIN_STATUS = 422

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
               413: "payload_too_large", 415: "unsupported_media_type", 429: "too_many_requests"}


def request_language() -> str:
    from flask import g

    preferred = getattr(g.get("principal"), "language", None) or request.cookies.get("lang")
    return negotiate(request.headers.get("Accept-Language"), preferred)


def message_key(code: str, details: dict[str, Any] | None) -> str:
    """`error.<code>`, or `error.<code>.<flag>` when a detail flag is true and the catalogue words that case
    (a blocked card that was reissued: "a newer card exists")."""
    for flag, value in (details or {}).items():
        if value is True and has(f"error.{code}.{flag}"):
            return f"error.{code}.{flag}"
    return f"error.{code}"


def error_response(code: str, status: int, details: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": translate(message_key(code, details), request_language()),
                      "details": details or {}}}
    response = jsonify(body)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def status_for(error: DomainError) -> int:
    return STATUS_BY_CODE.get(error.code, DEFAULT_DOMAIN_STATUS)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Any:
        headers = {"WWW-Authenticate": "Bearer"} if error.code == "unauthorized" else None
        if error.code == "too_many_requests" and "retry_after" in error.details:
            headers = {"Retry-After": str(error.details["retry_after"])}
        return error_response(error.code, status_for(error), _jsonable(error.details), headers)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        if not _wants_json():
            return error
        status = error.code or 500
        return error_response(_HTTP_CODES.get(status, "bad_request" if status < 500 else "internal_error"), status)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        if current_app.config.get("PROPAGATE_EXCEPTIONS_IN_TESTS"):
            raise error
        if not _wants_json():
            return Response("500 — 服务器出错 / server error", status=500, mimetype="text/plain")
        return error_response("internal_error", 500)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        out[key] = value if isinstance(value, (str, int, float, bool, list, dict, type(None))) else str(value)
    return out
