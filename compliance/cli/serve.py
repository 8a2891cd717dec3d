"""`compliance serve`: the review web app for the lead and the managers."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from compliance.errors import ComplianceError
from compliance.text.catalogue import text

from .app import cli
from .options import db_option, lang_option, open_store


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--script", "scripts", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@lang_option
def serve(db: Path, host: str, port: int, scripts: tuple[Path, ...], lang: str) -> None:
    """Start the review app: the lead corrects the machine, managers see and dispute their calls.

    Example: compliance serve --db compliance.db --host 0.0.0.0 --port 8000 --script scripts_yaml/sales_call.ru.yaml
    """
    import uvicorn

    from compliance.review.users import users
    from compliance.web.app import create_app

    with open_store(db, read_only=False) as store:
        if not users(store):
            raise click.ClickException(text("cli.serve.no_accounts", db=db))
    if not _is_loopback(host):
        click.echo(text("cli.serve.exposed", lang, host=host), err=True)
    try:
        app = create_app(db, scripts=scripts, lang=lang)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(text("cli.serve.listening", lang, url=f"http://{host}:{port}/"), err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
