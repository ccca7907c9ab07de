"""The bureau's pages: reconciliation, verification, dashboard, anomalies, and the transfers behind them.

Shells like every page (`pos.pages`): the templates in `pos/templates/bureau/` carry no data; `bureau.js`
calls the reports API with the user's token. The menu (`pos.pages.PAGES`) links a page as
`url_for("pages.<name>")`, so this blueprint, when registered, adds its views to the app under those endpoint
names (Flask refuses dots in a blueprint's own endpoint names).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint
from flask.sansio.blueprints import BlueprintSetupState

bp = Blueprint("bureau_pages", __name__)

# page name → (path, template, title key)
# (Every page is served at /<name>, as the tablet's pages are.)
ROUTES: dict[str, tuple[str, str, str]] = {
    "bureau": ("/bureau", "bureau/reconciliation.html", "nav.bureau"),
    "bureau-verify": ("/bureau-verify", "bureau/verify.html", "nav.bureau_verify"),
    "bureau-dashboard": ("/bureau-dashboard", "bureau/dashboard.html", "nav.bureau_dashboard"),
    "bureau-anomalies": ("/bureau-anomalies", "bureau/anomalies.html", "nav.bureau_anomalies"),
    "bureau-transfers": ("/bureau-transfers", "bureau/transfers.html", "nav.bureau_transfers"),
}


def _view(template: str, title_key: str) -> Callable[[], str]:
    def view() -> str:
        from pos.pages import render_page

        return render_page(template, title_key)

    return view


@bp.record
def _register(state: BlueprintSetupState) -> None:
    for name, (path, template, title_key) in ROUTES.items():
        view = _view(template, title_key)
        view.__name__ = name.replace("-", "_")
        state.app.add_url_rule(path, endpoint=f"pages.{name}", view_func=view, methods=["GET"])
