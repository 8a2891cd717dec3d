"""`compliance serve`: the review web app for the lead and the managers."""
from __future__ import annotations

import ipaddress
from pathlib import Path

import click

from compliance.errors import ComplianceError

from .app import cli
from .options import db_option, open_store


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: the LAN).")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port.")
@click.option("--script", "scripts", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A script file whose team examples file (NAME.examples.yaml beside it) the lead may extend "
                   "from the app (\"use as example\").")
@click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True, help="Language of the pages.")
def serve(db: Path, host: str, port: int, scripts: tuple[Path, ...], lang: str) -> None:
    """Start the review app: the lead corrects the machine, managers see and dispute their calls.

    Example: compliance serve --db compliance.db --host 0.0.0.0 --port 8000 --script scripts_yaml/sales_call.ru.yaml
    """
    import uvicorn

    from compliance.review.users import users
    from compliance.web.app import create_app

    with open_store(db, read_only=False) as store:
        if not users(store):
            raise click.ClickException(f"{db}: no accounts yet; add one first: "
                                       f"compliance users add LOGIN --role lead --password-stdin --db {db}")
    if not _is_loopback(host):
        click.echo(f"Внимание: приложение слушает {host}, его видно в сети. Пароли и cookie идут открытым текстом: "
                   "поставьте его за HTTPS (обратный прокси) вне доверенной локальной сети." if lang == "ru" else
                   f"Warning: the app listens on {host} and can be seen on the network. Passwords and cookies travel "
                   "in clear text: put it behind HTTPS (a reverse proxy) outside a trusted LAN.", err=True)
    try:
        app = create_app(db, scripts=scripts, lang=lang)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"http://{host}:{port}/  " + ("(Ctrl-C — остановить)" if lang == "ru" else "(Ctrl-C to stop)"), err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
