"""Member card numbers: random, digits only, with a Damm check digit, and a length no product barcode has.

- Digits only: a Chinese input method on the tablet swallows letters typed by a keyboard-wedge scanner.
- 16 digits: products are EAN-8, UPC-A, EAN-13 and (cartons) GTIN-14, so the length alone tells a card
  from goods. 15 random digits also make a card unguessable from another (10^15 numbers) and let
  100,000 members draw numbers with a negligible chance of a clash (the database still refuses one).
- Damm, not Luhn: Luhn misses the transposition 09 <-> 90; Damm catches every single-digit error and
  every transposition of two adjacent digits.
- The first digit is never 0, so a spreadsheet that reads the number as an integer cannot shorten it.
"""

from __future__ import annotations

import secrets

from stdnum import damm

from core.text import normalise_scan

CARD_LENGTH = 16
PRODUCT_BARCODE_LENGTHS = frozenset({8, 12, 13, 14})
_BODY_LENGTH = CARD_LENGTH - 1
_BODY_MIN = 10 ** (_BODY_LENGTH - 1)


def new_card_number() -> str:
    """A fresh random card number. The caller stores it under a unique constraint and draws again on a clash."""
    body = str(_BODY_MIN + secrets.randbelow(9 * _BODY_MIN))
    return body + damm.calc_check_digit(body)


def is_valid_card_number(number: str) -> bool:
    """Exactly a card number as issued: 16 ASCII digits, not starting with 0, with a right check digit."""
    return (
        len(number) == CARD_LENGTH
        and number.isascii()
        and number.isdigit()
        and number[0] != "0"
        and damm.is_valid(number)
    )


def normalise_card_number(raw: str) -> str:
    """What a scanner or a person typed, made canonical: full-width digits to ASCII, and the spaces or
    hyphens a person copies from the printed card ("1234 5678 9012 3456") removed."""
    return normalise_scan(raw).replace(" ", "").replace("-", "")


def looks_like_card(raw: str) -> bool:
    """Whether a scan is a member card (not goods): the counter asks this before looking anything up."""
    return is_valid_card_number(normalise_card_number(raw))


def format_card_number(number: str) -> str:
    """Grouped by four for printing on the card, as bank cards are."""
    return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
