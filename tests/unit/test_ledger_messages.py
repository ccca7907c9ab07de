"""Every problem the verifier can name and every ledger error code reads in zh-CN and in English."""

from __future__ import annotations

from ledger import errors
from ledger.verify import WHATS
from pos.i18n import translate


def test_every_problem_and_error_has_both_languages() -> None:
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and cls.__module__ == errors.__name__}
    keys = [f"ledger.problem.{what}" for what in WHATS] + [f"error.{code}" for code in codes]
    for key in keys:
        chinese, english = translate(key, "zh-CN"), translate(key, "en")
        assert chinese != key and english != key, key
        assert chinese != english, key
