"""Every string a user sees exists in zh-CN and en, once."""

from __future__ import annotations

import re

from pos.i18n import catalog, negotiate, translate


def test_every_key_has_both_languages_and_the_same_placeholders() -> None:
    zh, en = catalog("zh-CN"), catalog("en")
    assert zh.keys() == en.keys() and zh
    for key in zh:
        assert zh[key].strip() and en[key].strip(), key
        assert set(re.findall(r"{(\w+)}", zh[key])) == set(re.findall(r"{(\w+)}", en[key])), key


def test_every_error_code_the_api_can_answer_is_translated() -> None:
    from pos.errors import STATUS_BY_CODE

    for code in STATUS_BY_CODE:
        assert translate(f"error.{code}", "en") != f"error.{code}", code


def test_negotiation_prefers_the_remembered_choice_then_accept_language() -> None:
    assert negotiate(None) == "zh-CN"
    assert negotiate("en-GB,en;q=0.9") == "en"
    assert negotiate("fr-FR, en;q=0.5") == "en"
    assert negotiate("zh-TW") == "zh-CN"
    assert negotiate("en", preferred="zh-CN") == "zh-CN"
