"""Signed checkpoints: the journal's head (seq, hash, time) signed with the bureau's Ed25519 key.

A checkpoint is a compact JWS (EdDSA, through PyJWT and `cryptography`) over these claims:

    {"iss": "creditmart-bureau", "typ": "ledger-checkpoint", "jti": "<id>", "seq": 1234,
     "hash": "<64 hex digits>", "head_at": "<ISO 8601 or null>", "iat": <unix time>, "kid": "<key id>"}

It is stored (table `checkpoints`) and exported as a small JSON document (`document`) that carries the token.
Later, an export of the journal can be shown to extend it: the export's chain verifies on its own
(`ledger.check_export`) AND passes the checkpoint's seq with the checkpoint's hash AND the checkpoint's
signature verifies with the bureau's public key (`check_export_against`). A journal rewritten after the
checkpoint, even with a recomputed chain, cannot pass the checkpoint's hash; a forged checkpoint does not
verify.

The key: the PEM file named by CREDITMART_BUREAU_KEY_FILE (or the app's BUREAU_KEY_FILE), else
`bureau-ed25519.pem` in the app's instance folder, generated there on first use (mode 0600; never in the
repository). Verifying needs only the public key (`public_pem`, served to auditors), or that file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.db import UnitOfWork, utcnow
from core.errors import DomainError, NotFound, ValidationFailed
from ledger import Report, check_export, snapshot_session, verify
from ledger.chain import GENESIS_HASH
from ledger.models import Transfer
from pos.bureau.models import Checkpoint

KEY_ENV = "CREDITMART_BUREAU_KEY_FILE"
KEY_FILE_NAME = "bureau-ed25519.pem"
ISSUER = "creditmart-bureau"
TOKEN_TYPE = "ledger-checkpoint"
FORMAT = "creditmart-checkpoint"
ALGORITHM = "EdDSA"

transfers = Transfer.__table__


class BureauKeyMissing(DomainError):
    code = "bureau_key_missing"


class CheckpointInvalid(DomainError):
    """The checkpoint cannot be read, or its signature does not verify with the bureau's key."""

    code = "checkpoint_invalid"


class LedgerNotIntact(DomainError):
    """The journal does not verify: the bureau does not sign it."""

    code = "ledger_not_intact"


class UnknownCheckpoint(NotFound):
    pass


# ------------------------------------------------------------------------------------------------ keys


def key_file(config: Mapping[str, Any], instance_path: str | os.PathLike[str]) -> Path:
    configured = config.get("BUREAU_KEY_FILE") or os.environ.get(KEY_ENV)
    return Path(configured) if configured else Path(instance_path) / KEY_FILE_NAME


def load_signing_key(path: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The bureau's private key from `path`; with `create`, a new one is generated there when it is missing
    (created exclusively with mode 0600, so two processes starting at once keep one key)."""
    if not path.exists():
        if not create:
            raise BureauKeyMissing("no bureau key", path=str(path))
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first: use theirs
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise BureauKeyMissing("the bureau key is not an Ed25519 key", path=str(path))
    return key


def load_verifying_key(path: Path) -> Ed25519PublicKey:
    """The public key from a PEM file holding either the bureau's private key or only its public key."""
    if not path.exists():
        raise BureauKeyMissing("no bureau key", path=str(path))
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        private = serialization.load_pem_private_key(data, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise BureauKeyMissing("the bureau key is not an Ed25519 key", path=str(path))
        return private.public_key()
    public = serialization.load_pem_public_key(data)
    if not isinstance(public, Ed25519PublicKey):
        raise BureauKeyMissing("the bureau key is not an Ed25519 key", path=str(path))
    return public


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(public: Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 over the raw public key: names the key in tokens and on pages."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


# ------------------------------------------------------------------------------------------------ signing


def last_checkpoint(session: Session) -> Checkpoint | None:
    return session.scalars(select(Checkpoint).order_by(Checkpoint.seq.desc(), Checkpoint.signed_at.desc())
                           .limit(1)).one_or_none()


def verify_for_signing(session: Session, *, max_problems: int = 20) -> Report:
    """The whole journal, verified (`ledger.verify`) against the last checkpoint as its anchor: the bureau signs
    only a journal that verifies, from its first transfer to its head."""
    previous = last_checkpoint(session)
    anchor = (previous.seq, previous.hash) if previous is not None and previous.seq else None
    return verify(session, max_problems=max_problems, anchor=anchor)


def sign(session: Session, key: Ed25519PrivateKey, *, seq: int, hash_hex: str, actor: str,
         id: uuid.UUID | None = None, now: datetime | None = None) -> Checkpoint:
    """Signs the head (seq, hash) that the caller verified, once it is sure the journal still holds it, and
    stores the checkpoint. Does not commit."""
    conn = session.connection()
    if seq:
        row = conn.execute(select(transfers.c.hash, transfers.c.at).where(transfers.c.seq == seq)).one_or_none()
        if row is None or row.hash.hex() != hash_hex:
            raise LedgerNotIntact("the journal no longer holds the verified head", seq=seq)
        head_at = row.at
    elif hash_hex != GENESIS_HASH.hex():
        raise ValidationFailed("an empty journal has the all-zero hash", hash="must be 64 zeros at seq 0")
    else:
        head_at = None
    now = now or utcnow()
    checkpoint_id = id or uuid.uuid4()
    public = key.public_key()
    kid = key_id(public)
    claims = {"iss": ISSUER, "typ": TOKEN_TYPE, "jti": str(checkpoint_id), "seq": seq, "hash": hash_hex,
              "head_at": head_at.astimezone(UTC).isoformat() if head_at else None,
              "iat": int(now.timestamp()), "kid": kid}
    token = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
    checkpoint = Checkpoint(id=checkpoint_id, seq=seq, hash=hash_hex, head_at=head_at, signed_at=now,
                            signed_by=actor, key_id=kid, public_key=public_pem(public), token=token)
    session.add(checkpoint)
    session.flush()
    return checkpoint


def list_checkpoints(session: Session, limit: int = 100) -> list[Checkpoint]:
    return list(session.scalars(select(Checkpoint).order_by(Checkpoint.signed_at.desc()).limit(limit)))


def get_checkpoint(session: Session, checkpoint_id: uuid.UUID) -> Checkpoint:
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise UnknownCheckpoint("no such checkpoint", id=str(checkpoint_id))
    return checkpoint


def document(checkpoint: Checkpoint) -> dict[str, Any]:
    """The exportable checkpoint: the token, and its claims spelled out for people (the token is the proof)."""
    return {"format": FORMAT, "version": 1, "id": str(checkpoint.id), "seq": checkpoint.seq,
            "hash": checkpoint.hash, "head_at": checkpoint.head_at.isoformat() if checkpoint.head_at else None,
            "signed_at": checkpoint.signed_at.isoformat(), "signed_by": checkpoint.signed_by,
            "key_id": checkpoint.key_id, "public_key": checkpoint.public_key, "token": checkpoint.token}


# ------------------------------------------------------------------------------------------------ verifying


@dataclass(frozen=True)
class CheckpointClaims:
    id: str
    seq: int
    hash: str
    head_at: str | None
    key_id: str | None


_TOKEN = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")


def read_token(text: str) -> str:
    """The token from a checkpoint file: the JSON document `document` writes, or the bare token."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise CheckpointInvalid("the checkpoint file is not valid JSON") from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str):
            raise CheckpointInvalid("the checkpoint file has no token")
        text = token.strip()
    if not _TOKEN.match(text):
        raise CheckpointInvalid("not a checkpoint token")
    return text


def verify_token(token: str, public: Ed25519PublicKey) -> CheckpointClaims:
    try:
        claims = jwt.decode(token, public, algorithms=[ALGORITHM], issuer=ISSUER,
                            options={"require": ["iss", "seq", "hash", "jti"]})
    except jwt.InvalidTokenError as exc:
        raise CheckpointInvalid(f"the checkpoint's signature does not verify with the bureau's key: {exc}") from None
    seq, digest = claims.get("seq"), claims.get("hash")
    if claims.get("typ") != TOKEN_TYPE or type(seq) is not int or seq < 0 or not isinstance(digest, str) \
            or not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise CheckpointInvalid("the token is not a ledger checkpoint")
    return CheckpointClaims(str(claims["jti"]), seq, digest, claims.get("head_at"), claims.get("kid"))


@dataclass
class ExportCheck:
    """An export checked against a checkpoint: the ledger's own report on the file, and the checkpoint's."""

    report: Report
    claims: CheckpointClaims | None
    checkpoint_problem: str | None  # None when the export passes the checkpoint

    @property
    def ok(self) -> bool:
        return self.report.ok and self.checkpoint_problem is None

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "export": self.report.to_dict(),
                "checkpoint": {"ok": self.checkpoint_problem is None and self.claims is not None,
                               "seq": self.claims.seq if self.claims else None,
                               "hash": self.claims.hash if self.claims else None,
                               "key_id": self.claims.key_id if self.claims else None,
                               "problem": self.checkpoint_problem}}


def check_export_against(lines: Iterable[str], checkpoint_text: str, public: Ed25519PublicKey, *,
                         max_problems: int = 100) -> ExportCheck:
    """Checks an NDJSON export (its lines) on its own and against a signed checkpoint (see the module
    docstring). Reads the file once; needs no database."""
    try:
        claims = verify_token(read_token(checkpoint_text), public)
    except CheckpointInvalid as exc:
        return ExportCheck(check_export(lines, max_problems=max_problems), None, str(exc))
    seen: dict[str, Any] = {}
    report = check_export(_watch(lines, claims.seq, seen), max_problems=max_problems)
    return ExportCheck(report, claims, _against(claims, seen, report))


def _watch(lines: Iterable[str], seq: int, seen: dict[str, Any]) -> Iterator[str]:
    """Passes the lines on, noting the header and the hash of transfer `seq` (found by a cheap text test
    before any JSON parsing: the export writes `"seq":N,` first in each transfer's line)."""
    marker = f'{{"seq":{seq},'
    first = True
    for line in lines:
        if first:
            first = False
            try:
                header = json.loads(line)
                seen["after_seq"], seen["after_hash"] = header.get("after_seq"), header.get("after_hash")
            except (ValueError, AttributeError):
                pass
        elif line.startswith(marker):
            try:
                seen["hash"] = json.loads(line).get("hash")
            except (ValueError, AttributeError):
                seen["hash"] = None
        yield line


def _against(claims: CheckpointClaims, seen: dict[str, Any], report: Report) -> str | None:
    after_seq = seen.get("after_seq")
    if type(after_seq) is not int:
        return "the export has no readable header"
    if claims.seq == after_seq:
        found = seen.get("after_hash")
    elif claims.seq < after_seq:
        return f"the export starts after seq {after_seq}; the checkpoint is at seq {claims.seq}"
    elif claims.seq > report.head_seq:
        return f"the export ends at seq {report.head_seq}, before the checkpoint's seq {claims.seq}"
    else:
        found = seen.get("hash")
    if found != claims.hash:
        return (f"at seq {claims.seq} the export has hash {found}, the checkpoint signed {claims.hash}: the journal "
                "was changed after the checkpoint")
    return None


# ------------------------------------------------------------------------------------------------ the use case


def verify_and_sign(session_factory: sessionmaker[Session], key: Ed25519PrivateKey, *, actor: str,
                    id: uuid.UUID | None = None) -> tuple[Report, Checkpoint | None]:
    """Verifies the whole journal on one snapshot (no lock held while it reads), then signs the head it verified
    in a short write transaction. A journal that does not verify is not signed: the answer's checkpoint is None
    and the report says why."""
    with snapshot_session(session_factory) as session:
        report = verify_for_signing(session)
    if not report.ok:
        return report, None
    checkpoint = UnitOfWork(session_factory).run(
        lambda session: sign(session, key, seq=report.head_seq, hash_hex=report.head_hash, actor=actor,
                             id=id or uuid.uuid4()))
    return report, checkpoint


def checkpoint_due(session: Session, now: datetime, every: timedelta) -> bool:
    """The last checkpoint is older than `every`, or there is none, and the journal has moved since it."""
    last = last_checkpoint(session)
    if last is not None and now - last.signed_at < every:
        return False
    head = session.scalar(select(func.max(transfers.c.seq))) or 0
    return last is None or head != last.seq
