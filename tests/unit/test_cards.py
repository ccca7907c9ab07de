"""Card numbers: random, digits only, a check digit that catches typing mistakes, never mistaken for goods."""

from __future__ import annotations

import csv
import secrets
from pathlib import Path

import pytest
from stdnum import damm, ean

from ledger.cards import (
    CARD_LENGTH,
    PRODUCT_BARCODE_LENGTHS,
    format_card_number,
    is_valid_card_number,
    looks_like_card,
    new_card_number,
)

DIGITS = "0123456789"
CATALOG = Path(__file__).resolve().parents[2] / "pos" / "demo_data" / "catalog.csv"


def single_digit_errors(number: str):  # type: ignore[no-untyped-def]
    for i, right in enumerate(number):
        for wrong in DIGITS:
            if wrong != right:
                yield number[:i] + wrong + number[i + 1:]


def adjacent_transpositions(number: str):  # type: ignore[no-untyped-def]
    for i in range(len(number) - 1):
        if number[i] != number[i + 1]:
            yield number[:i] + number[i + 1] + number[i] + number[i + 2:]


def test_generated_numbers_have_the_card_shape() -> None:
    for _ in range(1000):
        number = new_card_number()
        assert len(number) == CARD_LENGTH and number.isdigit() and number.isascii()
        assert number[0] != "0"
        assert is_valid_card_number(number) and looks_like_card(number)


def test_check_digit_catches_every_single_digit_error_and_adjacent_transposition() -> None:
    numbers = [new_card_number() for _ in range(400)]
    # Make sure the classic Luhn blind spot (09 <-> 90) and a 0 in every position are exercised too.
    numbers += [damm_complete("9" + "09" * 7), damm_complete("1" + "90" * 7), damm_complete("1" + "0" * 14)]
    for number in numbers:
        for typo in single_digit_errors(number):
            assert not is_valid_card_number(typo), (number, typo)
        for swap in adjacent_transpositions(number):
            assert not is_valid_card_number(swap), (number, swap)


def test_damm_catches_both_error_kinds_after_any_prefix() -> None:
    """Exhaustive over what matters: after any prefix, Damm's running state is one of ten values, reached by a
    one-digit prefix; every later digit maps states one-to-one (a Latin square). So if the state differs right
    after the error, the final check differs, for every number of every length."""
    for prefix in ["", *DIGITS]:
        for a in DIGITS:
            for b in DIGITS:
                if a == b:
                    continue
                assert damm.checksum(prefix + a) != damm.checksum(prefix + b)
                assert damm.checksum(prefix + a + b) != damm.checksum(prefix + b + a)


def damm_complete(body: str) -> str:
    return body + damm.calc_check_digit(body)


def test_100000_numbers_collide_neither_with_each_other_nor_with_product_barcodes() -> None:
    numbers = [new_card_number() for _ in range(100_000)]
    assert len(set(numbers)) == len(numbers)
    assert {len(n) for n in numbers} == {CARD_LENGTH}
    assert CARD_LENGTH not in PRODUCT_BARCODE_LENGTHS
    assert not any(ean.is_valid(n) for n in numbers)
    # Random, not sequential: drawn across the whole range.
    assert {n[0] for n in numbers} == set("123456789")
    assert numbers != sorted(numbers)


def test_no_product_barcode_looks_like_a_card() -> None:
    with CATALOG.open(encoding="utf-8") as f:
        catalog = [row["barcode"] for row in csv.DictReader(f)]
    assert catalog and all(ean.is_valid(code) for code in catalog)
    random_eans = [random_ean(length) for length in (8, 12, 13, 14) for _ in range(2500)]
    for code in catalog + random_eans:
        assert ean.is_valid(code)
        assert not looks_like_card(code), code


def random_ean(length: int) -> str:
    body = "".join(secrets.choice(DIGITS) for _ in range(length - 1))
    return body + ean.calc_check_digit(body)


@pytest.mark.parametrize("dress", [
    lambda n: n,
    lambda n: f" {n}\r\n",  # the scanner's Enter
    lambda n: n.translate(str.maketrans(DIGITS, "０１２３４５６７８９")),  # full-width digits from an input method
    format_card_number,  # typed from the printed card
    lambda n: "-".join(n[i:i + 4] for i in range(0, 16, 4)),
])
def test_scans_and_typed_numbers_are_recognised(dress) -> None:  # type: ignore[no-untyped-def]
    number = new_card_number()
    assert looks_like_card(dress(number))


@pytest.mark.parametrize("raw", ["", "abc", "6920244418529", "0" * 16, "1234567890123456x"])
def test_other_input_is_not_a_card(raw: str) -> None:
    assert not looks_like_card(raw)


def test_a_card_number_starting_with_zero_is_not_valid_even_with_a_right_check_digit() -> None:
    assert damm.is_valid(damm_complete("0" + "1" * 14))
    assert not is_valid_card_number(damm_complete("0" + "1" * 14))


def test_format_groups_by_four() -> None:
    assert format_card_number("1234567890123456") == "1234 5678 9012 3456"
