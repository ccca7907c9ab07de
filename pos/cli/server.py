from __future__ import annotations

import secrets
from pathlib import Path

import click

from pos import migrate
from pos.cli.context import make_app, unit_of_work
from pos.cli.database import ensure_sqlite_dir
from pos.config import ConfigError, database_url


def serve_app(app, host: str, port: int, threads: int) -> None:  # type: ignore[no-untyped-def]
    from waitress import serve as waitress_serve

    from pos.bureau.daily import start_daily_checkpoint
    from pos.print_jobs import start_print_worker, stop_print_worker

    try:
        worker = start_print_worker(app)  # prints queued jobs to CREDITMART_PRINTER (none for dummy://)
    except ValueError as exc:
        raise click.ClickException(f"CREDITMART_PRINTER: {exc}") from None
    daily = start_daily_checkpoint(app)  # signs the journal's head once a day (CREDITMART_CHECKPOINT_HOURS)
    click.echo(f"serving on http://{host}:{port}/")
    try:
        waitress_serve(app, host=host, port=port, threads=threads, ident="creditmart")
    finally:
        stop_print_worker(worker)
        if daily is not None:
            daily.stop()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
def serve(host: str, port: int, threads: int) -> None:
    """The production server (waitress). Needs CREDITMART_SECRET_KEY."""
    from pos import create_app

    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    serve_app(app, host, port, threads)


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--instance", default="instance", show_default=True, type=click.Path(file_okay=False))
@click.option("--no-serve", is_flag=True, help="Set up the database and print the logins, then exit.")
def demo(host: str, port: int, instance: str, no_serve: bool) -> None:
    """A local SQLite shop with sample data; prints the logins and serves."""
    from pos.demo import load_demo, write_logins

    folder = Path(instance)
    folder.mkdir(parents=True, exist_ok=True)
    url = database_url() if Path(instance) == Path("instance") else f"sqlite:///{folder / 'creditmart.db'}"
    ensure_sqlite_dir(url)
    migrate.upgrade(url)
    key_file = folder / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    app = make_app(DATABASE_URL=url, SECRET_KEY=key_file.read_text().strip(), DEMO=True,
                   PRINTER=f"file://{(folder / 'receipts').resolve()}")
    logins_file = folder / "demo-logins.tsv"
    logins = unit_of_work(app).run(load_demo)
    if logins is not None:
        write_logins(logins_file, logins)
        click.echo("demo data loaded")
    click.echo(f"demo logins (also in {logins_file}):")
    click.echo(logins_file.read_text(encoding="utf-8") if logins_file.exists() else "  (none recorded)")
    if not no_serve:
        serve_app(app, host, port, threads=8)


def register(main: click.Group) -> None:
    main.add_command(serve)
    main.add_command(demo)
