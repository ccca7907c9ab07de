"""The hash chain: a canonical, versioned byte encoding of a transfer and SHA-256 over it.

Encoding version 1
------------------
A transfer is encoded as the compact JSON array (RFC 8259; no whitespace; non-ASCII characters written as
themselves, not escaped; UTF-8 bytes) of these 15 values, in this order:

    [1, seq, id, batch, at, code, debit, credit, amount, debit_balance_after, credit_balance_after,
     ref, actor, store_id, reverses]

- ``1`` is the encoding version. A later version changes the leading number and this docstring.
- ``seq``: the transfer's sequence number (integer, 1, 2, 3, ... without gaps).
- ``id``: the client's UUID, lowercase, hyphenated (``"0f8fad5b-d9cb-469f-a165-70867728950e"``).
- ``batch``: the linked batch's UUID in the same form, or ``null`` for a transfer posted alone.
- ``at``: the server time in UTC as ``"YYYY-MM-DDTHH:MM:SS.ffffffZ"`` (always six fraction digits).
- ``code``: ``"volunteer_hours"``, ``"donation"``, ``"redemption"``, ``"reversal"`` or ``"adjustment"``.
- ``debit``, ``credit``: the account ids (integers).
- ``amount``: the points moved (integer > 0).
- ``debit_balance_after``, ``credit_balance_after``: the two accounts' balances after this transfer
  (integers), so that the chain commits to every balance, not only to the movements.
- ``ref``: what caused it (``"sale:<uuid>"``, ...), ``actor``: who did it (strings).
- ``store_id``: the shop (integer) or ``null``; ``reverses``: the seq of the reversed transfer or ``null``.

Strings are JSON strings: ``"`` and ``\\`` and control characters escaped as JSON requires (``\\n``, ``\\u001f``,
...), everything else as is. Integers in decimal without leading zeros or ``+``.

The hash of transfer n is ``SHA-256(hash(n-1) || encoding(n))`` over the raw 32-byte digests; the transfer
before the first has the all-zero hash ``GENESIS_HASH``. Exports write hashes as lowercase hex.

`encode` is a fast hand-rolled writer of exactly these bytes; `encode_reference` builds the same bytes with
the json module and is what the tests compare it against.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C JSON string writer
from typing import NamedTuple

ENCODING_VERSION = 1
GENESIS_HASH = b"\x00" * 32

_sha256 = hashlib.sha256
_reference_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


class Canonical(NamedTuple):
    """A transfer in its canonical values: exactly what is hashed, in order."""

    seq: int
    id: str
    batch: str | None
    at: str
    code: str
    debit: int
    credit: int
    amount: int
    debit_balance_after: int
    credit_balance_after: int
    ref: str
    actor: str
    store_id: int | None
    reverses: int | None


def _int(value: int) -> str:
    if type(value) is not int:  # bool is an int to Python but not to JSON; a str here is tampering
        raise TypeError(f"expected an integer, got {value!r}")
    return str(value)


def _opt_int(value: int | None) -> str:
    return "null" if value is None else _int(value)


def _str(value: str) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {value!r}")
    return encode_basestring(value)


def encode(t: Canonical) -> bytes:
    """Encoding version 1 of a transfer (see the module docstring). Raises TypeError on ill-typed values."""
    return (
        f"[1,{_int(t.seq)},{_str(t.id)},{'null' if t.batch is None else _str(t.batch)},{_str(t.at)},"
        f"{_str(t.code)},{_int(t.debit)},{_int(t.credit)},{_int(t.amount)},{_int(t.debit_balance_after)},"
        f"{_int(t.credit_balance_after)},{_str(t.ref)},{_str(t.actor)},{_opt_int(t.store_id)},"
        f"{_opt_int(t.reverses)}]"
    ).encode()


def encode_reference(t: Canonical) -> bytes:
    """The same bytes as `encode`, written by the json module: the definition the fast writer must match."""
    return _reference_encoder.encode([ENCODING_VERSION, *t]).encode()


def chain_hash(prev_hash: bytes, t: Canonical) -> bytes:
    return _sha256(prev_hash + encode(t)).digest()


def canonical_uuid_hex32(value: str) -> str:
    """`0f8fad5bd9cb469fa16570867728950e` (how SQLite stores a Uuid) → the hyphenated canonical form."""
    if len(value) != 32:
        return value  # not a stored UUID: left as is, so the hash will not match and the verifier says so
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def canonical_time_sqlite(value: str) -> str:
    """`2026-12-03 07:29:00.123456` (how SQLAlchemy stores a UTC datetime in SQLite) → canonical `...T...Z`."""
    if len(value) == 26 and value[10] == " ":
        return f"{value[:10]}T{value[11:]}Z"
    return value  # unexpected shape: the hash will not match


def canonical_time(value: datetime) -> str:
    """An aware datetime → `YYYY-MM-DDTHH:MM:SS.ffffffZ` in UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TypeError(f"expected an aware datetime, got {value!r}")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
