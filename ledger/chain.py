"""The hash chain: a canonical, versioned byte encoding of a transfer and SHA-256 over it.

Encoding version 1
------------------
A transfer is encoded as the compact JSON array (RFC 8259; no whitespace; non-ASCII characters written as
themselves, not escaped; UTF-8 bytes) of these 17 values, in this order:

    [1, seq, id, batch, at, code,
     debit, debit_version, debit_balance_after, credit, credit_version, credit_balance_after,
     amount, ref, actor, store_id, reverses]

- ``1`` is the encoding version. A later version changes the leading number and this docstring.
- ``seq``: the transfer's sequence number (integer, 1, 2, 3, ... without gaps).
- ``id``: the client's UUID as 32 lowercase hex digits, no hyphens (``"0f8fad5bd9cb469fa16570867728950e"``).
- ``batch``: the linked batch's UUID in the same form, or ``null`` for a transfer posted alone.
- ``at``: the server time in UTC as ``"YYYY-MM-DD HH:MM:SS.ffffff"`` (a space between date and time, always
  six fraction digits, no zone suffix: it is always UTC).
- ``code``: ``"volunteer_hours"``, ``"donation"``, ``"redemption"``, ``"reversal"`` or ``"adjustment"``.
- ``debit``, ``credit``: the account ids; ``debit_version``, ``credit_version``: each account's version after
  this transfer (its count of entries); ``debit_balance_after``, ``credit_balance_after``: each account's
  balance after it. So the chain commits to every balance, not only to the movements.
- ``amount``: the points moved (integer > 0).
- ``ref``: what caused it (``"sale:<uuid>"``, ...), ``actor``: who did it (strings).
- ``store_id``: the shop (integer) or ``null``; ``reverses``: the seq of the reversed transfer or ``null``.

Strings are JSON strings: ``"`` and ``\\`` and control characters escaped as JSON requires (``\\n``,
``\\u001f``, ...), everything else as is. Integers in decimal without leading zeros or ``+``.
The id and time forms are how SQLite stores them, so the verifier hashes stored text as it comes.

The hash of transfer n is ``SHA-256(hash(n-1) || encoding(n))`` over the raw 32-byte digests; the transfer
before the first has the all-zero hash ``GENESIS_HASH``. Exports write hashes as lowercase hex.

`encode` is a fast hand-rolled writer of exactly these bytes; `encode_reference` builds the same bytes with
the json module and is what the tests compare it against.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C JSON string writer
from typing import Any, NamedTuple

ENCODING_VERSION = 1
GENESIS_HASH = b"\x00" * 32

_sha256 = hashlib.sha256
_reference_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S.%f"


class Canonical(NamedTuple):
    """A transfer in its canonical values: exactly what is hashed, in order."""

    seq: int
    id: str
    batch: str | None
    at: str
    code: str
    debit: int
    debit_version: int
    debit_balance_after: int
    credit: int
    credit_version: int
    credit_balance_after: int
    amount: int
    ref: str
    actor: str
    store_id: int | None
    reverses: int | None


def encode(t: Canonical | tuple[Any, ...]) -> bytes:
    """Encoding version 1 of a transfer (see the module docstring). Raises TypeError on ill-typed values."""
    (seq, tid, batch, at, code, debit, debit_version, debit_after, credit, credit_version, credit_after, amount,
     ref, actor, store_id, reverses) = t
    if not (type(seq) is int and type(debit) is int and type(debit_version) is int and type(debit_after) is int
            and type(credit) is int and type(credit_version) is int and type(credit_after) is int
            and type(amount) is int and type(tid) is str and type(at) is str and type(code) is str
            and type(ref) is str and type(actor) is str and (batch is None or type(batch) is str)
            and (store_id is None or type(store_id) is int) and (reverses is None or type(reverses) is int)):
        raise TypeError(f"a transfer's values have the wrong types: {t!r}")
    return encode_typed(t)


def encode_typed(t: Canonical | tuple[Any, ...]) -> bytes:
    """`encode` without the type check, for rows from the database's typed columns.

    Safe there because a value of another type can never write the bytes of a well-typed one: PostgreSQL's
    columns are strictly typed, and on SQLite an INTEGER column turns numeric text into an integer and a TEXT
    column turns a number into text, so what is left (text that is not a number, a float, a blob) prints as
    something no integer or JSON string prints as, and the hash does not match. The verifier calls this a
    million times; the type check would be a seventh of its time."""
    (seq, tid, batch, at, code, debit, debit_version, debit_after, credit, credit_version, credit_after, amount,
     ref, actor, store_id, reverses) = t
    q = encode_basestring
    return (
        f"[1,{seq},{q(tid)},{'null' if batch is None else q(batch)},{q(at)},{q(code)},"
        f"{debit},{debit_version},{debit_after},{credit},{credit_version},{credit_after},{amount},"
        f"{q(ref)},{q(actor)},{'null' if store_id is None else store_id},{'null' if reverses is None else reverses}]"
    ).encode()


def encode_reference(t: Canonical) -> bytes:
    """The same bytes as `encode`, written by the json module: the definition the fast writer must match."""
    return _reference_encoder.encode([ENCODING_VERSION, *t]).encode()


def chain_hash(prev_hash: bytes, t: Canonical) -> bytes:
    return _sha256(prev_hash + encode(t)).digest()


def canonical_id(value: uuid.UUID) -> str:
    return value.hex


def canonical_time(value: datetime) -> str:
    """An aware datetime → `YYYY-MM-DD HH:MM:SS.ffffff` in UTC."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TypeError(f"expected an aware datetime, got {value!r}")
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


# Exports show ids hyphenated and times in ISO 8601 with a Z, as the HTTP API does; these convert both ways.

def display_id(canonical: str) -> str:
    if len(canonical) != 32:
        return canonical  # not a stored UUID: left as is, so the hash will not match and the checker says so
    return f"{canonical[:8]}-{canonical[8:12]}-{canonical[12:16]}-{canonical[16:20]}-{canonical[20:]}"


def display_time(canonical: str) -> str:
    if len(canonical) != 26 or canonical[10] != " ":
        return canonical
    return f"{canonical[:10]}T{canonical[11:]}Z"


def id_from_display(value: Any) -> Any:
    """`0f8fad5b-d9cb-...` → `0f8fad5bd9cb...`; anything else is returned unchanged (and will not hash right)."""
    if type(value) is str and len(value) == 36 and value.count("-") == 4:
        return value.replace("-", "")
    return value


def time_from_display(value: Any) -> Any:
    if type(value) is str and len(value) == 27 and value[10] == "T" and value[26] == "Z":
        return f"{value[:10]} {value[11:26]}"
    return value
