"""Whatever a user, a scanner or a broken client sends, no route answers 500, and every refusal has API.md's error
shape. Every route of the permission table is called by a role it allows, with its body, path and query
mutated: NUL characters and lone surrogates in strings (PostgreSQL refuses both), 10 000-character strings,
integers past 64 bits, wrong types, bodies that are not JSON objects, path parameters and query values that
are not what the route expects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import pytest
from flask import Flask

from tests.permissions import PUBLIC, Case, Shop, all_cases
from tests.support import Api
from tests.world import OWN, WorldTemplates, shops_of, world_templates

# The role each route is tried as: the first of these its table allows.
USERS = [("manager", "manager-dsc"), ("coordinator", "coordinator-dsc"), ("clerk", "clerk-dsc"),
         ("admin", "admin"), ("auditor", "auditor"), ("print_agent", "agent-dsc")]
JUNK_STRINGS = ["a\x00b", "\ud800", "x" * 10_000, "", " ", "１２３", "<script>alert(1)</script>", "' OR 1=1 --"]
JUNK_NUMBERS = [2**31, 2**63, 10**30, -(10**30), -1, 0, 1.5, float("1e308")]
JUNK_VALUES = [None, True, [], {}, "12", {"$ne": 1}]
JUNK_SEGMENTS = ["nope", "-1", "0", "9" * 40, quote("中文"), "%00", quote("a\x00b"), "%ED%A0%80", "x" * 600]
JUNK_QUERY = ["nope", "-1", "99999999999999999999999", "%00", "%ED%A0%80", "2026-13-45", "x" * 600]
CASES = [c for c in all_cases() if c.allowed != PUBLIC]


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorldTemplates]:
    """Overrides the conftest's: routes that name a sale, a member, a job … meet real ones (tests/world.py)."""
    yield from world_templates(tmp_path_factory)


@pytest.fixture
def own(templates: WorldTemplates, db_url: str, app: Flask) -> Shop:
    return shops_of(templates, db_url, app)[OWN]


def _user(case: Case) -> str:
    return next(user for role, user in USERS if role in case.allowed)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    yield path, value


def _replaced(body: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy = json.loads(json.dumps(body))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


def _body_variants(body: dict[str, Any]) -> Iterator[Any]:
    yield from ([], "text", 12, None, [body])
    for path, value in _leaves(body):
        if not path:
            continue
        if isinstance(value, str):
            junk = JUNK_STRINGS + JUNK_NUMBERS[:3] + JUNK_VALUES
        elif isinstance(value, bool):
            junk = ["yes", 2, None]
        elif isinstance(value, int | float):
            junk = JUNK_NUMBERS + ["1", None, []]
        else:
            junk = JUNK_VALUES + ["x", [1] * 2000]
        for new in junk:
            yield _replaced(body, path, new)


def _url_variants(case: Case, shop: Shop) -> Iterator[str]:
    url = case.url(shop)
    parts = urlsplit(url)
    segments = parts.path.split("/")
    for index, template in enumerate(case.rule.split("/")):
        if template.startswith("<"):
            for junk in JUNK_SEGMENTS:
                yield "/".join([*segments[:index], junk, *segments[index + 1:]]) + (f"?{parts.query}"
                                                                                     if parts.query else "")
    query = dict(parse_qsl(parts.query))
    for name in [*query, "limit", "offset", "from", "to", "status", "store", "before", "kind", "q"]:
        for junk in JUNK_QUERY:
            yield f"{parts.path}?{urlencode({**query, name: '§'})}".replace("%C2%A7", junk)


def _raw_requests(case: Case, shop: Shop) -> Iterator[tuple[str, dict[str, Any]]]:
    """(url, keyword arguments for the test client) of every junk request for this route."""
    body = case.body(shop) if case.body else None
    for url in _url_variants(case, shop):
        yield url, {"json": body} if body is not None else {}
    if case.method in ("POST", "PUT", "PATCH"):
        url = case.url(shop)
        for raw in (b"{not json", b"\xff\xfe", b'{"id": "\xed\xa0\x80"}', b"", b"null", b"[" * 5000):
            yield url, {"data": raw, "content_type": "application/json"}
        yield url, {"data": b"id=1", "content_type": "application/x-www-form-urlencoded"}
        for variant in _body_variants(body or {}):
            yield url, {"data": json.dumps(variant), "content_type": "application/json"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.rule}")
def test_no_junk_makes_a_route_fail(api: Api, own: Shop, case: Case) -> None:
    caller = api.as_(_user(case))
    failures: list[str] = []
    for url, kwargs in _raw_requests(case, own):
        response = caller._call(case.method, url, **kwargs)
        response.get_data()  # a streamed answer (the journal) is read to its end, as a client would
        response.close()
        sent = (kwargs.get("data") or json.dumps(kwargs.get("json")))
        where = f"{case.method} {url[:120]} {str(sent)[:160]!r}"
        if response.status_code >= 500:
            failures.append(f"{response.status_code} for {where}")
        elif response.status_code >= 400 and case.rule.startswith("/api/"):
            error = (response.get_json(silent=True) or {}).get("error")
            if not isinstance(error, dict) or not error.get("code") or not error.get("message"):
                failures.append(f"{response.status_code} without the error shape for {where}")
    assert not failures, "\n".join(failures[:20])
