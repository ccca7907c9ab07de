"""Signed checkpoints on SQLite and PostgreSQL: signing and verifying through the API, the table keeps them, and
`creditmart ledger check-export FILE --checkpoint CP` passes a good export and fails an edited one, a journal
rewritten after the checkpoint (even with a recomputed chain), another key, a forged checkpoint."""

from __future__ import annotations

import json
import uuid
from hashlib import sha256
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from core.db import UnitOfWork, make_engine
from ledger.chain import encode, id_from_display, time_from_display
from pos.bureau import checkpoints
from pos.cli import main
from tests.support import Api
from tests.test_bureau_support import Village


@pytest.fixture
def key_file(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys" / "bureau.pem"
    app.config["BUREAU_KEY_FILE"] = str(path)
    monkeypatch.setenv(checkpoints.KEY_ENV, str(path))
    return path


@pytest.fixture
def busy(uow: UnitOfWork) -> Village:
    village = Village(uow)
    member = village.register("DSC")
    village.earn(member, 300)
    sale = village.sell(member, [("6972449445466", 1)])
    village.void(sale)
    village.sell(member, [("6982606870703", 1)])
    return village


def test_a_checkpoint_is_signed_kept_and_verifies_with_the_bureaus_public_key(api: Api, busy: Village,
                                                                            key_file: Path) -> None:
    body = {"id": str(uuid.uuid4())}
    made = api.as_("auditor").post("/api/v1/checkpoints", json=body)
    assert made.status_code == 201
    document = made.get_json()
    assert (document["format"], document["seq"], document["signed_by"]) == ("creditmart-checkpoint", 4, "auditor")
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    replay = api.as_("auditor").post("/api/v1/checkpoints", json=body)
    assert replay.status_code == 201 and replay.get_json() == document

    served = api.as_("auditor").get("/api/v1/checkpoints/public-key").get_json()
    assert served["key_id"] == document["key_id"] and served["algorithm"] == "EdDSA"
    public = serialization.load_pem_public_key(served["public_key"].encode())
    claims = checkpoints.verify_token(document["token"], public)  # type: ignore[arg-type]
    assert (claims.seq, claims.hash, claims.id) == (4, document["hash"], document["id"])
    with pytest.raises(checkpoints.CheckpointInvalid):
        checkpoints.verify_token(document["token"], Ed25519PrivateKey.generate().public_key())

    exported = api.as_("auditor").get(f"/api/v1/checkpoints/{document['id']}")
    assert exported.status_code == 200 and "attachment" in exported.headers["Content-Disposition"]
    assert json.loads(exported.data) == document
    listed = api.as_("auditor").get("/api/v1/checkpoints").get_json()["checkpoints"]
    assert [c["id"] for c in listed] == [document["id"]]
    assert api.as_("auditor").get(f"/api/v1/checkpoints/{uuid.uuid4()}").status_code == 404


def test_the_checkpoints_table_refuses_changes(api: Api, busy: Village, key_file: Path, db_url: str) -> None:
    api.as_("admin").post("/api/v1/checkpoints", json={"id": str(uuid.uuid4())})
    engine = make_engine(db_url)
    try:
        for statement in ("UPDATE checkpoints SET seq = 1", "DELETE FROM checkpoints"):
            with pytest.raises(DBAPIError), engine.begin() as conn:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def test_the_key_is_made_once(tmp_path: Path) -> None:
    path = tmp_path / "instance" / checkpoints.KEY_FILE_NAME
    first = checkpoints.load_signing_key(path)
    again = checkpoints.load_signing_key(path)
    assert checkpoints.key_id(first.public_key()) == checkpoints.key_id(again.public_key())
    assert checkpoints.key_id(checkpoints.load_verifying_key(path)) == checkpoints.key_id(first.public_key())
    with pytest.raises(checkpoints.BureauKeyMissing):
        checkpoints.load_signing_key(tmp_path / "none.pem", create=False)


def cli(runner: CliRunner, *args: str) -> Any:
    return runner.invoke(main, list(args), env={"CREDITMART_LANG": "en"})


def rechain(lines: list[str], start: int) -> list[str]:
    """The export as a forger would leave it: every hash from `start` on recomputed, so that the chain verifies
    on its own."""
    out = list(lines)
    prev: bytes | None = None
    for i, line in enumerate(out):
        obj = json.loads(line)
        if "seq" not in obj:
            if "end" in obj and prev is not None:
                obj["end"]["hash"] = prev.hex()
                out[i] = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
            continue
        if obj["seq"] >= start:
            obj["prev_hash"] = prev.hex() if prev is not None else obj["prev_hash"]
            digest = sha256(bytes.fromhex(obj["prev_hash"]) + encode((
                obj["seq"], id_from_display(obj["id"]), id_from_display(obj["batch"]), time_from_display(obj["at"]),
                obj["code"], obj["debit"], obj["debit_version"], obj["debit_balance_after"], obj["credit"],
                obj["credit_version"], obj["credit_balance_after"], obj["amount"], obj["ref"], obj["actor"],
                obj["store_id"], obj["reverses"]))).digest()
            obj["hash"] = digest.hex()
            out[i] = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
        prev = bytes.fromhex(obj["hash"])
    return out


def test_check_export_with_a_checkpoint(runner: CliRunner, busy: Village, key_file: Path, tmp_path: Path) -> None:
    signed = cli(runner, "ledger", "checkpoint", "--output", str(tmp_path / "cp.json"))
    assert signed.exit_code == 0, signed.output
    assert "signed: seq 4" in signed.output
    document = json.loads((tmp_path / "cp.json").read_text(encoding="utf-8"))
    assert document["seq"] == 4

    # More transfers after the checkpoint: the export extends it.
    member = busy.register("XHC")
    busy.earn(member, 60)
    export = tmp_path / "journal.ndjson"
    assert cli(runner, "ledger", "export", str(export)).exit_code == 0
    good = cli(runner, "ledger", "check-export", str(export), "--checkpoint", str(tmp_path / "cp.json"))
    assert good.exit_code == 0, good.output
    assert "Checkpoint holds: the export passes seq 4" in good.output
    # The bare token works as well as the document.
    token_file = tmp_path / "cp.token"
    token_file.write_text(document["token"] + "\n", encoding="utf-8")
    assert cli(runner, "ledger", "check-export", str(export), "--checkpoint", str(token_file)).exit_code == 0
    # Without --checkpoint the ledger's own check is unchanged.
    assert cli(runner, "ledger", "check-export", str(export)).exit_code == 0

    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    # An edited amount: the chain breaks at its seq.
    edited = list(lines)
    obj = json.loads(edited[3])
    obj["amount"] += 1
    edited[3] = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
    (tmp_path / "edited.ndjson").write_text("".join(edited), encoding="utf-8")
    bad = cli(runner, "ledger", "check-export", str(tmp_path / "edited.ndjson"), "--checkpoint",
              str(tmp_path / "cp.json"))
    assert bad.exit_code == 1 and "the first at seq 3" in bad.output

    # A forger rewrites who did it and recomputes the chain: the export verifies on its own, not against the
    # checkpoint.
    rewritten = list(lines)
    obj = json.loads(rewritten[3])
    obj["actor"] = "manager-xhc"
    rewritten[3] = json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n"
    forged = rechain(rewritten, 3)
    (tmp_path / "forged.ndjson").write_text("".join(forged), encoding="utf-8")
    assert cli(runner, "ledger", "check-export", str(tmp_path / "forged.ndjson")).exit_code == 0
    caught = cli(runner, "ledger", "check-export", str(tmp_path / "forged.ndjson"), "--checkpoint",
                 str(tmp_path / "cp.json"))
    assert caught.exit_code == 1 and "Checkpoint check FAILED: at seq 4" in caught.output

    # Another key: the bureau's signature does not verify with it.
    other = tmp_path / "other.pem"
    other.write_bytes(Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    wrong = cli(runner, "ledger", "check-export", str(export), "--checkpoint", str(tmp_path / "cp.json"),
                "--public-key", str(other))
    assert wrong.exit_code == 1 and "does not verify with the bureau's key" in wrong.output

    # A checkpoint whose claims were edited (another hash) no longer verifies.
    header, payload, signature = document["token"].split(".")
    import base64

    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["hash"] = json.loads(forged[4])["hash"]
    fake = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    (tmp_path / "fake.json").write_text(json.dumps({**document, "token": f"{header}.{fake}.{signature}"}),
                                        encoding="utf-8")
    assert cli(runner, "ledger", "check-export", str(tmp_path / "forged.ndjson"), "--checkpoint",
               str(tmp_path / "fake.json")).exit_code == 1

    # An export that stops before the checkpoint cannot show it extends it.
    short = tmp_path / "short.ndjson"
    assert cli(runner, "ledger", "export", str(short)).exit_code == 0
    head = short.read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "cut.ndjson").write_text("".join(head[:3]) + json.dumps(
        {"end": {"seq": 2, "hash": json.loads(head[2])["hash"], "transfers": 2}}) + "\n", encoding="utf-8")
    cut = cli(runner, "ledger", "check-export", str(tmp_path / "cut.ndjson"), "--checkpoint", str(tmp_path / "cp.json"))
    assert cut.exit_code == 1 and "before the checkpoint's seq 4" in cut.output


def test_the_daily_checkpoint_refuses_a_journal_that_does_not_verify(runner: CliRunner, busy: Village,
                                                                    key_file: Path, db_url: str,
                                                                    tmp_path: Path) -> None:
    from tests.test_bureau_support import tamper

    engine = make_engine(db_url)
    try:
        tamper(engine, "UPDATE ledger_transfers SET actor = 'someone else' WHERE seq = 2")
    finally:
        engine.dispose()
    refused = cli(runner, "ledger", "checkpoint", "--output", str(tmp_path / "cp.json"))
    assert refused.exit_code == 1 and "no checkpoint signed" in refused.output
    assert not (tmp_path / "cp.json").exists()


def test_the_server_signs_a_checkpoint_once_a_day_while_the_journal_moves(busy: Village, key_file: Path,
                                                                          uow: UnitOfWork, db_url: str,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    """`creditmart serve`'s daily thread, stepped by hand: it signs when none exists, not again within the day,
    not when the journal has not moved since, and again a day later once it has."""
    from datetime import timedelta

    from core.db import utcnow
    from pos.bureau.daily import DailyCheckpoint

    daily = DailyCheckpoint(uow.session_factory, key_file, timedelta(hours=24))
    now = utcnow()
    first = daily.run_once(now)
    assert first is not None and (first.seq, first.signed_by) == (4, "daily")
    public = checkpoints.load_verifying_key(key_file)
    assert checkpoints.verify_token(first.token, public).seq == 4
    assert daily.run_once(now + timedelta(hours=23)) is None  # within the day
    assert daily.run_once(now + timedelta(hours=25)) is None  # a day later, but nothing new to sign
    member = busy.register("XHC")
    busy.earn(member, 50)
    second = daily.run_once(now + timedelta(hours=25))
    assert second is not None and second.seq == 5
    assert uow.read(lambda s: [c.seq for c in checkpoints.list_checkpoints(s)]) == [5, 4]

    from tests.test_bureau_support import tamper

    engine = make_engine(db_url)
    try:
        tamper(engine, "UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = 5")
    finally:
        engine.dispose()
    busy.earn(member, 10)
    with caplog.at_level("ERROR", logger="pos.bureau.daily"):
        assert daily.run_once(now + timedelta(hours=50)) is None
    assert "daily checkpoint refused" in caplog.text
