"""The bureau's tools: GET /api/v1/ledger/verify and /export, and `creditmart ledger verify | export | check-export`."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from click.testing import CliRunner

from core.db import UnitOfWork
from ledger import check_export, reverse
from pos.cli import main
from tests.support import Api
from tests.test_ledger_support import Book, drop_append_only_triggers, open_book, verify_now


def populate(uow: UnitOfWork) -> Book:
    book = open_book(uow)
    alice, bob, _ = book.members
    book.earn(alice, 100)
    sale = book.spend(alice, 30)
    book.earn(bob, 12)
    uow.run(lambda s: reverse(s, sale.id, id=uuid.uuid4(), actor="manager-dsc"))
    return book


def test_verify_over_http_reports_the_head(api: Api, uow: UnitOfWork) -> None:
    populate(uow)
    head = verify_now(uow)
    response = api.as_("auditor").get("/api/v1/ledger/verify")
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "transfers": 4, "head": {"seq": 4, "hash": head.head_hash},
                                   "problems": [], "problem_count": 0}


def test_verify_over_http_names_the_problem(api: Api, uow: UnitOfWork) -> None:
    populate(uow)
    engine = uow.session_factory.kw["bind"]
    drop_append_only_triggers(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = 2")
    body = api.as_("admin").get("/api/v1/ledger/verify").get_json()
    assert body["ok"] is False
    assert body["problems"][0]["seq"] == 2 and body["problems"][0]["what"] == "hash_mismatch"
    assert {p["what"] for p in body["problems"]} == {"hash_mismatch", "balance_mismatch"}


def test_export_over_http_streams_ndjson_that_checks_out(api: Api, uow: UnitOfWork) -> None:
    populate(uow)
    response = api.as_("auditor").get("/api/v1/ledger/export")
    assert response.status_code == 200
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines(keepends=True)
    transfers = [json.loads(line) for line in lines[1:-1]]
    assert [t["seq"] for t in transfers] == [1, 2, 3, 4]
    assert transfers[3]["code"] == "reversal" and transfers[3]["reverses"] == 2
    assert transfers[0]["at"].endswith("Z") and str(uuid.UUID(transfers[0]["id"])) == transfers[0]["id"]
    assert check_export(lines).ok

    later = api.as_("admin").get("/api/v1/ledger/export?after_seq=2").get_data(as_text=True).splitlines()
    assert [json.loads(line).get("seq") for line in later[1:-1]] == [3, 4]
    assert check_export(later).ok


def test_export_over_http_refuses_a_bad_after_seq(api: Api, uow: UnitOfWork) -> None:
    populate(uow)
    auditor = api.as_("auditor")
    assert auditor.get("/api/v1/ledger/export?after_seq=99").get_json()["error"]["code"] == "not_found"
    for bad in ("-1", "two"):
        response = auditor.get(f"/api/v1/ledger/export?after_seq={bad}")
        assert response.status_code == 400
        assert "after_seq" in response.get_json()["error"]["details"]


def test_only_the_bureau_reads_the_ledger(api: Api) -> None:
    for username in ("manager-dsc", "clerk-dsc"):
        assert api.as_(username).get("/api/v1/ledger/verify").status_code == 403
        assert api.as_(username).get("/api/v1/ledger/export").status_code == 403


def test_cli_verify_export_and_check_export(runner: CliRunner, uow: UnitOfWork, tmp_path: Path) -> None:
    populate(uow)
    head = verify_now(uow)

    verified = runner.invoke(main, ["ledger", "verify"], env={"CREDITMART_LANG": "en"})
    assert verified.exit_code == 0, verified.output
    assert f"Ledger verified: 4 transfers, head seq 4, hash {head.head_hash}" in verified.output
    chinese = runner.invoke(main, ["ledger", "verify"], env={"CREDITMART_LANG": "zh-CN"})
    assert "账本校验通过" in chinese.output

    anchored = runner.invoke(main, ["ledger", "verify", "--anchor", f"2:{'0' * 64}"], env={"CREDITMART_LANG": "en"})
    assert anchored.exit_code == 1 and "the first at seq 2" in anchored.output

    path = tmp_path / "ledger.ndjson"
    exported = runner.invoke(main, ["ledger", "export", str(path)], env={"CREDITMART_LANG": "en"})
    assert exported.exit_code == 0, exported.output
    assert len(path.read_text(encoding="utf-8").splitlines()) == 4 + 2
    checked = runner.invoke(main, ["ledger", "check-export", str(path)], env={"CREDITMART_LANG": "en"})
    assert checked.exit_code == 0 and f"last seq 4, hash {head.head_hash}" in checked.output

    tail = tmp_path / "tail.ndjson"
    runner.invoke(main, ["ledger", "export", str(tail), "--after-seq", "3"])
    assert [json.loads(line).get("seq") for line in tail.read_text(encoding="utf-8").splitlines()[1:-1]] == [4]
    assert runner.invoke(main, ["ledger", "check-export", str(tail)]).exit_code == 0

    to_stdout = runner.invoke(main, ["ledger", "export", "-"])
    assert to_stdout.exit_code == 0 and '"seq":4' in to_stdout.output

    beyond = runner.invoke(main, ["ledger", "export", str(tmp_path / "x.ndjson"), "--after-seq", "9"])
    assert beyond.exit_code != 0 and not (tmp_path / "x.ndjson").exists()
