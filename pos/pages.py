"""The tablet pages: server-rendered Jinja shells with plain JS and CSS from pos/static.

Pages carry no data of their own; their scripts call the API with the user's token, so the API's
role and shop checks are the only ones there are. Every user-supplied string reaches the page
through `textContent` (or Jinja's autoescape), never as HTML.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, Flask, redirect, render_template, request, url_for

from pos.i18n import LANGUAGES, catalog, negotiate

bp = Blueprint("pages", __name__)

# page name → (template, title key, roles that see it in the menu)
PAGES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "home": ("home.html", "nav.home", ("admin", "auditor", "manager", "clerk", "coordinator")),
    "counter": ("counter.html", "nav.counter", ("manager", "clerk")),
    "checkin": ("checkin.html", "nav.checkin", ("manager", "coordinator")),
    "donations": ("donations.html", "nav.donations", ("manager", "coordinator")),
    "approvals": ("approvals.html", "nav.approvals", ("manager",)),
    "stock": ("stock.html", "nav.stock", ("manager",)),
    "members": ("members.html", "nav.members", ("manager", "clerk")),
    "bureau": ("bureau/reconciliation.html", "nav.bureau", ("admin", "auditor", "manager")),
    "bureau-dashboard": ("bureau/dashboard.html", "nav.bureau_dashboard", ("admin", "auditor", "manager")),
    "bureau-anomalies": ("bureau/anomalies.html", "nav.bureau_anomalies", ("admin", "auditor", "manager")),
    "bureau-verify": ("bureau/verify.html", "nav.bureau_verify", ("admin", "auditor")),
}


def page_language() -> str:
    return negotiate(request.headers.get("Accept-Language"), request.cookies.get("lang"))


def render_page(template: str, title_key: str, **context: object) -> str:
    lang = page_language()
    strings = catalog(lang)
    return render_template(template, lang=lang, t=strings, title=strings.get(title_key, title_key),
                           languages=LANGUAGES, nav=[(name, PAGES[name][1], PAGES[name][2]) for name in PAGES],
                           **context)


@bp.get("/")
def index():
    return redirect(url_for("pages.home"))


@bp.get("/login")
def login():
    return render_page("login.html", "nav.login")


@bp.get("/home")
def home():
    return render_page("home.html", "nav.home")


@bp.get("/counter")
def counter():
    return render_page("counter.html", "nav.counter")


@bp.get("/checkin")
def checkin():
    return render_page("checkin.html", "nav.checkin")


@bp.get("/donations")
def donations():
    return render_page("donations.html", "nav.donations")


@bp.get("/approvals")
def approvals():
    return render_page("approvals.html", "nav.approvals")


@bp.get("/stock")
def stock():
    return render_page("stock.html", "nav.stock")


@bp.get("/members")
def members():
    return render_page("members.html", "nav.members")


@bp.get("/members/<uuid:member_id>")
def member(member_id: uuid.UUID):
    # The shell only: the script reads the id from the path and asks the API, which checks the shop.
    return render_page("member.html", "tablet.member.title")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(__import__("pos.pages_bureau", fromlist=["bp"]).bp)  # the bureau's pages
