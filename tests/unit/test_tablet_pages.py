"""The tablet pages without a browser: every page renders in Chinese first, every string a page script or template
asks for exists in both languages with the same placeholders, no script builds HTML from text, nothing loads from
outside the server (no CDN)."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from flask import Flask

from ledger.earning import KINDS
from ledger.earning import STATUSES as CONTRIBUTION_STATUSES
from ledger.members import CARD_STATUSES, MEMBER_STATUSES
from ledger.models import TRANSFER_CODES
from pos import create_app
from pos.i18n import catalog
from pos.i18n.tablet import MESSAGES as TABLET
from pos.pages import PAGES
from pos.print_jobs import STATUSES
from pos.sales import COMPLETED, VOIDED

SALE_STATUSES = (COMPLETED, VOIDED)

ROOT = Path(__file__).resolve().parents[2] / "pos"
# Other helpers' files (the bureau's pages, the members API's card sheet) are checked by their own tests.
MINE = re.compile(r"^(?!bureau)(?!cards_sheet)(?!notice)")
SCRIPTS = sorted(p for p in (ROOT / "static").glob("*.js") if MINE.match(p.name))
TEMPLATES = sorted(p for p in (ROOT / "templates").glob("*.html") if MINE.match(p.name))

# Keys a script builds from a prefix and a value the API sends: every value must have its string.
FAMILIES = {
    "print.status.": STATUSES,
    "printer.state.": ("ok", "online", "paper_low", "paper_out", "offline", "unknown"),
    "tablet.code.": TRANSFER_CODES,
    "tablet.member_status.": MEMBER_STATUSES,
    "tablet.card_status.": CARD_STATUSES,
    "earning.kind.": KINDS,
    "tablet.sale_status.": SALE_STATUSES,
    "earning.status.": CONTRIBUTION_STATUSES,
    "role.": ("admin", "auditor", "manager", "clerk", "coordinator", "print_agent"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    url = f"sqlite:///{tmp_path_factory.mktemp('pages') / 'unused.db'}"  # the page shells never touch it
    return create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x" * 40})


def page_path(app: Flask, name: str) -> str:
    """Where the menu's page `name` is served (its blueprint may be another feature's)."""
    paths = [rule.rule for rule in app.url_map.iter_rules()
             if rule.endpoint.rsplit(".", 1)[-1] == name and not rule.arguments]
    assert paths, f"no route serves the page {name!r}"
    return paths[0]


def used_keys() -> set[str]:
    keys: set[str] = set()
    for path in SCRIPTS:
        keys |= set(re.findall(r"\bt\(\s*\"([\w.-]+)\"", path.read_text(encoding="utf-8")))
    for path in TEMPLATES:
        keys |= set(re.findall(r"t\[\s*[\"']([\w.-]+)[\"']\s*\]", path.read_text(encoding="utf-8")))
    return {key for key in keys if not key.endswith(".")}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_every_string_the_pages_use_exists(lang: str) -> None:
    strings = catalog(lang)
    wanted = used_keys() | {prefix + value for prefix, values in FAMILIES.items() for value in values}
    wanted |= {title for _template, title, _roles in PAGES.values()}
    missing = sorted(key for key in wanted if not strings.get(key))
    assert missing == []


def test_both_languages_have_the_same_placeholders() -> None:
    def fields(text: str) -> set[str]:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}

    assert [key for key, (zh, en) in TABLET.items() if fields(zh) != fields(en)] == []


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.name)
def test_no_script_turns_text_into_html(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function", source)


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_nothing_loads_from_outside(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=[\"']?(https?:)?//", source)
    assert "|safe" not in source.replace(" ", "")  # Jinja's autoescape is never switched off


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_chinese_first_and_its_scripts_exist(app: Flask, name: str) -> None:
    client = app.test_client()
    path = page_path(app, name)
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    for script in re.findall(r'src="/static/([\w.]+\.js)"', html):
        assert (ROOT / "static" / script).is_file(), script
    client.set_cookie("lang", "en")
    english = client.get(path).get_data(as_text=True)
    assert '<html lang="en">' in english


def test_the_member_page_takes_only_a_member_id(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/members/3f2504e0-4f89-41d3-9a0c-0305e82c3301").status_code == 200
    assert client.get("/members/<script>").status_code == 404


def test_the_counter_scan_field_keeps_the_soft_keyboard_away(app: Flask) -> None:
    html = app.test_client().get("/counter").get_data(as_text=True)
    field = re.search(r"<input id=\"scan\"[^>]*>", html, re.S)
    assert field and 'type="text"' in field.group(0) and 'inputmode="none"' in field.group(0)
