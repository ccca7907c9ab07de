"""The ledger's refusals. Each has a stable code; the HTTP layer maps codes to statuses and messages."""

from __future__ import annotations

from core.errors import DomainError, IdempotencyConflict, NotFound


class InsufficientPoints(DomainError):
    """A member's (or organisation's) account would go below zero. Details: account_id, owner_ref,
    balance, amount, shortfall (how many points are missing)."""

    code = "insufficient_points"


class AlreadyReversed(DomainError):
    """The transfer has been reversed already (a transfer is reversed at most once)."""

    code = "already_reversed"


class NotReversible(DomainError):
    """A reversal cannot itself be reversed: post a new transfer instead."""

    code = "not_reversible"


class UnknownAccount(NotFound):
    pass


class UnknownTransfer(NotFound):
    pass


class TransferConflict(IdempotencyConflict):
    """A transfer id was used before for a different transfer (HTTP 409 idempotency_conflict)."""


class AccountConflict(IdempotencyConflict):
    """An account for this holder exists already, with different settings."""
