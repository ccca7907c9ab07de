"""The tablet pages (server-rendered Jinja, plain JS and CSS from pos/static)."""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request

from pos.i18n import catalog, negotiate

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    lang = negotiate(request.headers.get("Accept-Language"), request.cookies.get("lang"))
    return render_template("index.html", lang=lang, t=catalog(lang))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
