"""The floor under `POST /api/v1/sales` on this stack, for bench_checkout.py: the creditmart app served exactly as
`creditmart serve` serves it (`pos.cli.server.serve_app`, waitress), plus one route that only this benchmark
registers, `POST /bench/floor`. It takes the sale's body through the sale's own decorator (token, the account read
from the database, role, pydantic schema) and the sale's exactly-once record (`create_once`: one durable write
transaction that inserts and updates the idempotency row) — and does nothing else: no card, goods, stock, ledger,
receipt or shift. Whatever a sale costs, it costs at least this.

    CREDITMART_DATABASE_URL=... CREDITMART_SECRET_KEY=... python bench/floor_server.py --port 8001 --threads 8
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Blueprint, Flask  # noqa: E402

from pos import create_app, db  # noqa: E402
from pos.api.common import endpoint  # noqa: E402
from pos.api.sales import SELLERS, SaleIn  # noqa: E402
from pos.auth import current_principal  # noqa: E402
from pos.cli.server import serve_app  # noqa: E402
from pos.idempotency import Answer, create_once  # noqa: E402

FLOOR_PATH = "/bench/floor"


def floor_app() -> Flask:
    app = create_app()
    bp = Blueprint("bench_floor", __name__)

    @bp.post(FLOOR_PATH)
    @endpoint(roles=SELLERS, body=SaleIn, summary="benchmark only: a sale's fixed costs and nothing else")
    def floor(body: SaleIn) -> Answer:
        command = body.command()
        principal = current_principal()
        return create_once(db.unit_of_work(), "bench-floor", str(command.id), command.fingerprint(principal),
                           lambda session: ({"sale_id": str(command.id), "clerk": principal.username}, 201))

    app.register_blueprint(bp)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    serve_app(floor_app(), "127.0.0.1", args.port, args.threads)


if __name__ == "__main__":
    main()
