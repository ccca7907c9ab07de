"""Tampering: with the triggers dropped, edit the journal (or an export of it) and see the verifier name the seq."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Connection, Engine, bindparam, text

from core.db import UnitOfWork
from ledger import export_lines, reverse
from ledger.export import check_export
from pos.cli import main
from tests.test_ledger_support import Book, drop_append_only_triggers, open_book, verify_now

TRANSFERS = 12


@pytest.fixture
def journal(uow: UnitOfWork) -> Book:
    """12 transfers: earnings, spending, a reversal at seq 3 (of seq 2)."""
    book = open_book(uow)
    alice, bob, carol = book.members
    book.earn(alice, 100)
    sale = book.spend(alice, 10)
    uow.run(lambda s: reverse(s, sale.id, id=uuid.uuid4(), actor="manager-dsc"))
    for i in range(TRANSFERS - 3):
        member = (alice, bob, carol)[i % 3]
        book.earn(member, 5 + i) if i % 2 == 0 else book.spend(alice, 3)
    assert verify_now(uow).ok
    return book


def engine_of(uow: UnitOfWork) -> Engine:
    return uow.session_factory.kw["bind"]


def rows(conn: Connection, *seqs: int) -> dict[int, dict]:
    query = text("SELECT * FROM ledger_transfers WHERE seq IN :seqs").bindparams(bindparam("seqs", expanding=True))
    found = conn.execute(query, {"seqs": list(seqs)}).mappings()
    return {row["seq"]: dict(row) for row in found}


def insert(conn: Connection, values: dict) -> None:
    conn.execute(text(f"INSERT INTO ledger_transfers ({', '.join(values)}) "
                      f"VALUES ({', '.join(':' + name for name in values)})"), values)


def change_amount(conn: Connection, seq: int) -> None:
    conn.execute(text("UPDATE ledger_transfers SET amount = amount + 1 WHERE seq = :seq"), {"seq": seq})


def change_balance_after(conn: Connection, seq: int) -> None:
    conn.execute(text("UPDATE ledger_transfers SET credit_balance_after = credit_balance_after + 1 "
                      "WHERE seq = :seq"), {"seq": seq})


def delete_row(conn: Connection, seq: int) -> None:
    conn.execute(text("DELETE FROM ledger_transfers WHERE seq = :seq"), {"seq": seq})


def swap_rows(conn: Connection, seq: int) -> None:
    """Row seq gets the content of row seq+1 and the other way round (hashes and all)."""
    both = rows(conn, seq, seq + 1)
    conn.execute(text("DELETE FROM ledger_transfers WHERE seq IN (:a, :b)"), {"a": seq, "b": seq + 1})
    insert(conn, both[seq + 1] | {"seq": seq})
    insert(conn, both[seq] | {"seq": seq + 1})


def cut_tail(conn: Connection, seq: int) -> None:
    conn.execute(text("DELETE FROM ledger_transfers WHERE seq >= :seq"), {"seq": seq})


# (tampering, the seq it is done at, what the verifier must say first)
DATABASE_CASES = [
    (change_amount, 6, "hash_mismatch"),
    (change_balance_after, 7, "hash_mismatch"),
    (delete_row, 5, "gap"),
    (swap_rows, 8, "chain_broken"),
    (cut_tail, 10, "truncated"),
    (change_amount, 1, "hash_mismatch"),
    (delete_row, TRANSFERS, "truncated"),
]


@pytest.mark.parametrize("tamper, seq, what", DATABASE_CASES,
                         ids=[f"{t.__name__}@{s}" for t, s, _ in DATABASE_CASES])
def test_tampering_with_the_journal_is_named_by_seq(journal: Book, uow: UnitOfWork,
                                                    tamper: Callable[[Connection, int], None], seq: int,
                                                    what: str) -> None:
    drop_append_only_triggers(engine_of(uow))
    with engine_of(uow).begin() as conn:
        tamper(conn, seq)
    report = verify_now(uow)
    assert not report.ok
    first = report.first_problem
    assert first is not None and (first.seq, first.what) == (seq, what), report.problems
    if tamper is swap_rows:
        assert {(p.seq, p.what) for p in report.problems} >= {(seq, "hash_mismatch"), (seq + 1, "hash_mismatch")}


def test_verify_through_the_cli_exits_1_and_names_the_first_bad_seq(journal: Book, uow: UnitOfWork,
                                                                    runner: CliRunner) -> None:
    drop_append_only_triggers(engine_of(uow))
    with engine_of(uow).begin() as conn:
        change_amount(conn, 4)
    result = runner.invoke(main, ["ledger", "verify"], env={"CREDITMART_LANG": "en"})
    assert result.exit_code == 1
    assert "the first at seq 4: hash mismatch" in result.output
    assert "seq 4: hash mismatch: the content was changed (hash_mismatch)" in result.output


def test_a_cached_balance_that_disagrees_with_the_entries_is_named_by_account(journal: Book,
                                                                              uow: UnitOfWork) -> None:
    with engine_of(uow).begin() as conn:
        conn.execute(text("UPDATE ledger_accounts SET balance = balance + 5 WHERE id = :id"),
                     {"id": journal.members[1]})
    report = verify_now(uow)
    assert {(p.seq, p.what, p.account) for p in report.problems} == {
        (None, "balance_mismatch", journal.members[1]), (None, "sum_not_zero", None)}


def test_a_chain_head_moved_back_is_a_head_mismatch(journal: Book, uow: UnitOfWork) -> None:
    with engine_of(uow).begin() as conn:
        conn.execute(text("UPDATE ledger_chain_head SET seq = seq - 2"))
    first = verify_now(uow).first_problem
    assert first is not None and (first.seq, first.what) == (TRANSFERS - 1, "head_mismatch")


def test_an_anchor_recorded_earlier_must_still_be_in_the_journal(journal: Book, uow: UnitOfWork) -> None:
    head = verify_now(uow)
    assert verify_now(uow, anchor=(head.head_seq, head.head_hash)).ok
    report = verify_now(uow, anchor=(5, "00" * 32))
    assert [(p.seq, p.what) for p in report.problems] == [(5, "anchor_mismatch")]


# --- exports --------------------------------------------------------------------------------------------

def export_of(uow: UnitOfWork, after_seq: int = 0) -> list[str]:
    return uow.read(lambda s: list(export_lines(s, after_seq)))


def line_index(lines: list[str], seq: int) -> int:
    return next(i for i, line in enumerate(lines) if json.loads(line).get("seq") == seq)


def edit_amount(lines: list[str], seq: int) -> list[str]:
    i = line_index(lines, seq)
    transfer = json.loads(lines[i])
    transfer["amount"] += 1
    return [*lines[:i], json.dumps(transfer, ensure_ascii=False) + "\n", *lines[i + 1:]]


def drop_line(lines: list[str], seq: int) -> list[str]:
    i = line_index(lines, seq)
    return lines[:i] + lines[i + 1:]


def swap_lines(lines: list[str], seq: int) -> list[str]:
    i = line_index(lines, seq)
    return [*lines[:i], lines[i + 1], lines[i], *lines[i + 2:]]


def cut_lines(lines: list[str], seq: int) -> list[str]:
    return lines[:line_index(lines, seq)]  # the closing line goes too


EXPORT_CASES = [
    (edit_amount, 6, "hash_mismatch"),
    (drop_line, 5, "gap"),
    (swap_lines, 8, "gap"),
    (cut_lines, 10, "truncated"),
    (cut_lines, TRANSFERS, "truncated"),
]


@pytest.mark.parametrize("edit, seq, what", EXPORT_CASES, ids=[f"{e.__name__}@{s}" for e, s, _ in EXPORT_CASES])
def test_an_edited_export_is_named_by_seq_without_a_database(journal: Book, uow: UnitOfWork, tmp_path: Path,
                                                             edit: Callable[[list[str], int], list[str]], seq: int,
                                                             what: str) -> None:
    lines = export_of(uow)
    assert check_export(lines).ok
    edited = edit(lines, seq)
    report = check_export(edited)
    first = report.first_problem
    assert first is not None and (first.seq, first.what) == (seq, what), report.problems

    path = tmp_path / "edited.ndjson"
    path.write_text("".join(edited), encoding="utf-8")
    result = CliRunner().invoke(main, ["ledger", "check-export", str(path)], env={"CREDITMART_LANG": "en",
                                                                                  "CREDITMART_DATABASE_URL": ""})
    assert result.exit_code == 1
    assert f"the first at seq {seq}:" in result.output


def test_an_export_after_a_seq_is_checked_from_its_header(journal: Book, uow: UnitOfWork) -> None:
    lines = export_of(uow, after_seq=7)
    assert json.loads(lines[0])["after_seq"] == 7
    report = check_export(lines)
    assert report.ok and report.transfers == TRANSFERS - 7 and report.head_seq == TRANSFERS
    first = check_export(edit_amount(lines, 9)).first_problem
    assert first is not None and (first.seq, first.what) == (9, "hash_mismatch")


def test_an_export_of_a_tampered_journal_fails_its_check_too(journal: Book, uow: UnitOfWork) -> None:
    drop_append_only_triggers(engine_of(uow))
    with engine_of(uow).begin() as conn:
        change_amount(conn, 3)
    first = check_export(export_of(uow)).first_problem
    assert first is not None and (first.seq, first.what) == (3, "hash_mismatch")
