"""The bureau's pages without a browser: every string their script and templates ask for exists in both
languages, including the families built from values the API sends; the script builds no HTML from text; the
templates load nothing from outside; every page renders Chinese first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

from ledger.earning import KINDS as CONTRIBUTION_KINDS
from ledger.models import ACCOUNT_KINDS, TRANSFER_CODES
from ledger.verify import WHATS
from pos import create_app
from pos.bureau.anomalies import KINDS as FLAG_KINDS
from pos.bureau.exports import FIGURES
from pos.bureau.models import RUN_STATUSES
from pos.i18n import catalog
from pos.pages_bureau import ROUTES

ROOT = Path(__file__).resolve().parents[2] / "pos"
SCRIPT = ROOT / "static" / "bureau.js"
TEMPLATES = sorted((ROOT / "templates" / "bureau").glob("*.html"))
IDENTITIES = ("flows", "cached_balances", "zero_sum", "issued_contributions", "redeemed_lines", "redeemed_stock")
DETAILS = ("accounts_disagree", "cached_disagree", "unmatched_issues", "sales_lines_disagree", "sales_stock_disagree")
FAMILIES = {
    "bureau.identity.": IDENTITIES, "bureau.detail.": DETAILS, "bureau.flag.": FLAG_KINDS,
    "bureau.flag_text.": FLAG_KINDS, "bureau.kind.": CONTRIBUTION_KINDS, "bureau.code.": TRANSFER_CODES,
    "bureau.account.": ACCOUNT_KINDS, "bureau.verify.status.": RUN_STATUSES,
    "bureau.figure.": tuple(key for key, _ in FIGURES), "ledger.problem.": tuple(WHATS),
}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_string_the_bureau_pages_use_exists(lang: str) -> None:
    strings = catalog(lang)
    wanted = set(re.findall(r"\bt\(\s*\"([\w.-]+)\"", SCRIPT.read_text(encoding="utf-8")))
    for path in TEMPLATES:
        wanted |= set(re.findall(r"t\[\s*[\"']([\w.-]+)[\"']\s*\]", path.read_text(encoding="utf-8")))
    wanted = {key for key in wanted if not key.endswith(".")}
    wanted |= {prefix + value for prefix, values in FAMILIES.items() for value in values}
    wanted |= {title for _path, _template, title in ROUTES.values()}
    assert sorted(key for key in wanted if not strings.get(key)) == []


def test_the_script_builds_no_html_from_text() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", source)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_nothing_loads_from_outside(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", source)
    assert "|safe" not in source.replace(" ", "")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    url = f"sqlite:///{tmp_path_factory.mktemp('bureau-pages') / 'unused.db'}"
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x" * 40})


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_bureau_page_renders(app: Flask, name: str) -> None:
    path, _template, _title = ROUTES[name]
    client = app.test_client()
    html = client.get(path).get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and 'src="/static/bureau.js"' in html
    assert f'data-page="pages.{name}"' in html
    client.set_cookie("lang", "en")
    assert '<html lang="en">' in client.get(path).get_data(as_text=True)
