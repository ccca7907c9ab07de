"""The bureau's pure parts: periods in shop time, SVG charts that escape what people typed, checkpoint tokens,
opening hours, workbook sheet names, the dashboard's months."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pos.bureau import charts, checkpoints
from pos.bureau.anomalies import parse_hours
from pos.bureau.dashboard import month_starts
from pos.bureau.exports import _sheet_title, reconciliation_csv
from pos.bureau.periods import Period, parse_bound, quarter_days, quarter_of


def test_days_are_shop_days_and_instants_keep_their_offset() -> None:
    assert parse_bound("2025-03-01", end=False) == datetime(2025, 2, 28, 16, tzinfo=UTC)
    assert parse_bound("2025-03-31", end=True) == datetime(2025, 3, 31, 16, tzinfo=UTC)
    assert parse_bound("2025-03-01T12:00:00+00:00", end=False) == datetime(2025, 3, 1, 12, tzinfo=UTC)
    assert parse_bound("2025-03-01T20:00:00", end=False) == datetime(2025, 3, 1, 12, tzinfo=UTC)  # shop time
    with pytest.raises(ValueError):
        parse_bound("31/03/2025", end=True)
    assert Period.of_days(date(2025, 1, 1), date(2025, 1, 1)).end == datetime(2025, 1, 1, 16, tzinfo=UTC)
    with pytest.raises(ValueError):
        Period(datetime(2025, 2, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        Period(datetime(2025, 2, 1))


def test_quarters() -> None:
    assert quarter_of(date(2025, 11, 30)) == (2025, 4)
    assert quarter_days(2025, 4) == (date(2025, 10, 1), date(2025, 12, 31))
    assert quarter_days(2024, 1) == (date(2024, 1, 1), date(2024, 3, 31))


def test_the_dashboards_months() -> None:
    now = datetime(2025, 6, 15, tzinfo=UTC)
    months = month_starts(Period(), now)
    assert months[0] == date(2024, 7, 1) and months[-1] == date(2025, 6, 1) and len(months) == 12
    span = month_starts(Period.of_days(date(2025, 2, 10), date(2025, 4, 30)), now)
    assert span == [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]


def test_charts_are_well_formed_and_escape_every_text() -> None:
    evil = '<script>alert("x")</script> & 南岭'
    for svg in (charts.grouped_bars(evil, ["2025-01", evil], [("发放", [10, 20]), (evil, [5, 0])]),
                charts.horizontal_bars(evil, [(evil, 3), ("东山村", 1200)]), charts.horizontal_bars("空", [])):
        root = ET.fromstring(svg.encode())
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert "<script" not in svg
        assert not root.findall(".//{http://www.w3.org/2000/svg}script")
    assert "&lt;script&gt;" in charts.horizontal_bars(evil, [(evil, 1)])


@pytest.mark.parametrize(("largest", "step"), [(0, 1), (1, 1), (4, 1), (5, 2), (7, 2), (30, 8), (50, 15),
                                              (60, 15), (61, 20), (100, 25), (130, 40), (1_299_975, 400_000)])
def test_the_value_axis_is_cut_into_round_whole_steps(largest: int, step: int) -> None:
    assert charts._axis_step(largest) == step
    svg = charts.grouped_bars("t", ["2026-01"], [("发放", [largest])])
    labels = [f"{step * i:,}" for i in range(charts.GRID_LINES + 1)]
    assert all(f">{label}</text>" in svg for label in labels)


def test_checkpoint_tokens_are_read_from_a_document_or_bare_and_verified() -> None:
    key = Ed25519PrivateKey.generate()
    claims = {"iss": checkpoints.ISSUER, "typ": checkpoints.TOKEN_TYPE, "jti": "x", "seq": 3, "hash": "ab" * 32}
    token = jwt.encode(claims, key, algorithm="EdDSA")
    assert checkpoints.read_token(f'{{"token": "{token}"}}') == token
    assert checkpoints.read_token(f"  {token}\n") == token
    for garbage in ("", "{not json", '{"token": 3}', "a.b", "<html>"):
        with pytest.raises(checkpoints.CheckpointInvalid):
            checkpoints.read_token(garbage)
    assert checkpoints.verify_token(token, key.public_key()).seq == 3
    with pytest.raises(checkpoints.CheckpointInvalid):
        checkpoints.verify_token(token, Ed25519PrivateKey.generate().public_key())
    for wrong in ({**claims, "iss": "someone"}, {**claims, "typ": "other"}, {**claims, "seq": "3"},
                  {**claims, "hash": "zz"}):
        with pytest.raises(checkpoints.CheckpointInvalid):
            checkpoints.verify_token(jwt.encode(wrong, key, algorithm="EdDSA"), key.public_key())
    hs256 = jwt.encode(claims, "a-shared-secret-that-is-long-enough-32", algorithm="HS256")
    with pytest.raises(checkpoints.CheckpointInvalid):
        checkpoints.verify_token(hs256, key.public_key())


def test_opening_hours() -> None:
    assert parse_hours("08:00-20:00") == (datetime(1, 1, 1, 8).time(), datetime(1, 1, 1, 20).time())
    assert parse_hours("18:30-02:00")[1] == datetime(1, 1, 1, 2).time()
    for bad in ("8-20", "08:00-08:00", "25:00-26:00", "08:00"):
        with pytest.raises(ValueError):
            parse_hours(bad)


def test_sheet_titles_are_valid_and_unique() -> None:
    used: set[str] = set()
    assert _sheet_title("DSC 东山村信用超市", used) == "DSC 东山村信用超市"
    assert _sheet_title("a/b:c*d?[e]", used) == "a_b_c_d__e_"
    long = "x" * 40
    first, second = _sheet_title(long, used), _sheet_title(long, used)
    assert len(first) == 31 and len(second) <= 31 and first != second


def test_csv_starts_with_a_byte_order_mark() -> None:
    figures = {"issued": {"volunteer_hours": 1, "donation": 2, "total": 3}, "redeemed": 0, "reversed": 0,
               "reversals": {"net": 0, "by_reversed_code": {}}, "adjusted": {"net": 0, "credited": 0, "debited": 0},
               "cross_shop_net": 0, "outstanding_start": 0, "outstanding": 3, "members_balance_total": 3,
               "journal_outstanding_now": 3, "transfers": 2, "identities": []}
    data = reconciliation_csv({**figures, "stores": [{**figures, "store": "DSC", "name": "东山,村"}]})
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig").splitlines()
    assert text[1].startswith('DSC,"东山,村",1,2,3') and text[2].startswith("合计,,1,2,3")
