"""The canonical encoding (version 1) and the hash chain, with no database."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.chain import (
    GENESIS_HASH,
    Canonical,
    canonical_time,
    chain_hash,
    display_id,
    display_time,
    encode,
    encode_reference,
    encode_typed,
    id_from_display,
    time_from_display,
)
from ledger.export import FORMAT, check_export
from ledger.verify import Problems

EXAMPLE = Canonical(1, "0f8fad5bd9cb469fa16570867728950e", None, "2026-12-03 07:29:00.123456", "volunteer_hours",
                    1, 1, -100, 2, 1, 100, 100, "contribution:志愿服务", "店长", 1, None)


def test_encoding_version_1_is_these_bytes_and_this_hash() -> None:
    # If this test has to change, the encoding changed: that needs a new encoding version, not an edit here.
    expected = ('[1,1,"0f8fad5bd9cb469fa16570867728950e",null,"2026-12-03 07:29:00.123456","volunteer_hours",'
                '1,1,-100,2,1,100,100,"contribution:志愿服务","店长",1,null]').encode()
    assert encode(EXAMPLE) == expected
    assert chain_hash(GENESIS_HASH, EXAMPLE) == hashlib.sha256(b"\0" * 32 + expected).digest()
    assert chain_hash(GENESIS_HASH, EXAMPLE).hex() == "09db794122ccc951e287bd1f128d088ec296c28c11f03b6f03620d3c348fd4fb"


ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
texts = st.text(max_size=40)  # any Unicode: quotes, backslashes, control characters, CJK, emoji
canonicals = st.builds(
    Canonical, seq=st.integers(1, 2**62), id=st.uuids().map(lambda u: u.hex), batch=st.none() | st.uuids().map(
        lambda u: u.hex), at=texts, code=texts, debit=ints, debit_version=ints, debit_balance_after=ints,
    credit=ints, credit_version=ints, credit_balance_after=ints, amount=ints, ref=texts, actor=texts,
    store_id=st.none() | ints, reverses=st.none() | ints)


@given(canonicals)
def test_the_fast_writer_writes_exactly_the_reference_json(t: Canonical) -> None:
    assert encode(t) == encode_reference(t) == encode_typed(t)
    assert json.loads(encode(t)) == [1, *t]


@pytest.mark.parametrize("field, value", [("amount", True), ("amount", "100"), ("amount", 1.0),
                                          ("ref", 5), ("store_id", "1"), ("id", None)])
def test_values_of_the_wrong_type_cannot_be_encoded(field: str, value: object) -> None:
    with pytest.raises(TypeError):
        encode(EXAMPLE._replace(**{field: value}))


def test_canonical_time_is_utc_with_six_fraction_digits() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert canonical_time(datetime(2026, 12, 3, 15, 29, 0, 0, tzinfo=shanghai)) == "2026-12-03 07:29:00.000000"
    assert canonical_time(datetime(2026, 12, 3, 7, 29, 0, 5, tzinfo=UTC)) == "2026-12-03 07:29:00.000005"
    with pytest.raises(TypeError):
        canonical_time(datetime(2026, 12, 3))


def test_exports_show_ids_and_times_as_the_api_does_and_convert_back() -> None:
    u = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
    assert display_id(u.hex) == str(u) and id_from_display(str(u)) == u.hex
    assert display_time("2026-12-03 07:29:00.123456") == "2026-12-03T07:29:00.123456Z"
    assert time_from_display("2026-12-03T07:29:00.123456Z") == "2026-12-03 07:29:00.123456"
    assert id_from_display(12) == 12 and time_from_display("yesterday") == "yesterday"


def test_problems_keep_the_lowest_seqs_and_put_account_problems_last() -> None:
    problems = Problems(limit=3)
    for seq in (9, None, 4, 7, 2, 8):
        problems.add(seq, "gap")
    assert problems.count == 6
    assert [p.seq for p in problems.sorted()] == [2, 4, 7]
    few = Problems(limit=10)
    for seq in (None, 3, 1):
        few.add(seq, "gap")
    assert [p.seq for p in few.sorted()] == [1, 3, None]


def _export_of(transfers: list[tuple[int, int, int]]) -> list[str]:
    """An export written by hand: (debit, credit, amount) per transfer, accounts starting at zero."""
    lines = [json.dumps({"format": FORMAT, "encoding": 1, "after_seq": 0, "after_hash": GENESIS_HASH.hex()})]
    balances: dict[int, int] = {}
    versions: dict[int, int] = {}
    prev = GENESIS_HASH
    for seq, (debit, credit, amount) in enumerate(transfers, start=1):
        balances[debit] = balances.get(debit, 0) - amount
        balances[credit] = balances.get(credit, 0) + amount
        versions[debit] = versions.get(debit, 0) + 1
        versions[credit] = versions.get(credit, 0) + 1
        t = Canonical(seq, uuid.uuid4().hex, None, "2026-12-03 07:29:00.000000", "volunteer_hours", debit,
                      versions[debit], balances[debit], credit, versions[credit], balances[credit], amount, "r",
                      "a", None, None)
        digest = chain_hash(prev, t)
        line = dict(zip(t._fields, t, strict=True)) | {"id": display_id(t.id), "at": display_time(t.at)}
        lines.append(json.dumps(line | {"prev_hash": prev.hex(), "hash": digest.hex()}, ensure_ascii=False))
        prev = digest
    lines.append(json.dumps({"end": {"seq": len(transfers), "hash": prev.hex(), "transfers": len(transfers)}}))
    return lines


def test_an_export_is_checked_from_its_lines_alone() -> None:
    lines = _export_of([(1, 2, 10), (1, 3, 5), (2, 3, 4)])
    report = check_export(lines)
    assert report.ok and report.transfers == 3 and report.head_seq == 3

    edited = [line.replace('"amount": 5', '"amount": 6') for line in lines]
    report = check_export(edited)
    assert not report.ok and report.first_problem is not None
    assert (report.first_problem.seq, report.first_problem.what) == (2, "hash_mismatch")


def test_an_export_that_is_not_one_is_malformed() -> None:
    report = check_export(["{\"hello\": 1}"])
    assert not report.ok and report.problems[0].what == "malformed"
    assert not check_export([]).ok
