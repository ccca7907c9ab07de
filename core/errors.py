"""Domain errors carry a stable code (API.md) and details; the HTTP layer maps code to status and text."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule of the business refused the request. `code` is one of API.md's error codes."""

    code = "domain_error"

    def __init__(self, message: str = "", /, **details: Any) -> None:
        super().__init__(message or self.code)
        self.details = details


class NotFound(DomainError):
    code = "not_found"


class Forbidden(DomainError):
    code = "forbidden"


class IdempotencyConflict(DomainError):
    """The same client id was sent again with a different body."""

    code = "idempotency_conflict"


class ValidationFailed(DomainError):
    code = "validation_error"
