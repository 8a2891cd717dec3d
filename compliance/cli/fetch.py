"""`compliance fetch`: a period's recordings and call data from a cloud PBX into the recordings root."""
from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError
from compliance.text.catalogue import text

from .options import DAY, db_option, lang_option, load_team_or_fail, open_store, resolve_team_path, team_option

PROVIDERS = ("binotel", "zadarma")
EXIT_INCOMPLETE = 3


def make_provider(name: str, api_url: Optional[str], key_file: Optional[Path]):
    """The client of one PBX, its key from the environment or ``key_file`` (never printed)."""
    from compliance.sources import binotel, zadarma
    from compliance.sources.credentials import load_credentials

    module = binotel if name == "binotel" else zadarma
    url = (api_url or os.environ.get(module.URL_ENV) or module.DEFAULT_URL).strip()
    if not url.startswith("https://") and not url.startswith(("http://127.0.0.1", "http://localhost")):
        raise click.UsageError(text("cli.fetch.https", url=url))
    credentials = load_credentials(name, key_file)
    return (binotel.BinotelClient if name == "binotel" else zadarma.ZadarmaClient)(credentials, url)


@cli.command("fetch")
@click.argument("provider", type=click.Choice(PROVIDERS))
@click.option("--since", type=DAY, default=None)
@click.option("--until", type=DAY, default=None)
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("recordings"),
              show_default=True)
@db_option
@team_option
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--api-url", default=None)
@click.option("--mask-numbers", is_flag=True)
@lang_option
def fetch(provider: str, since: Optional[dt.datetime], until: Optional[dt.datetime], root: Path, db: Path,
          team_path: Optional[Path], key_file: Optional[Path], api_url: Optional[str], mask_numbers: bool,
          lang: str) -> None:
    """Download a period's call recordings and call data from a cloud PBX (Binotel, Zadarma).

    Answered calls land in ROOT/MANAGER/DATE/ with the PBX data beside them (FILE.pbx.json); calls with no
    answer are counted as dials in the daily report. A second run downloads nothing twice and retries what failed.
    Exit 3 when some calls failed or have an extension no manager has (team.yaml: pbx_extensions).

    Example: BINOTEL_API_KEY=… BINOTEL_API_SECRET=… compliance fetch binotel --since вчера --root recordings

    Without --since: only the calls the PBX's webhook queued (`compliance serve`) and those left to retry.
    """
    from compliance.messages import Message
    from compliance.sources.fetch import FetchOptions, fetch_period

    if until is not None and since is None:
        raise click.UsageError(text("cli.fetch.until_needs_since"))
    last = until or since
    if since is not None and last is not None and last < since:
        raise click.UsageError(text("cli.fetch.until_before_since"))
    team = load_team_or_fail(resolve_team_path(team_path))
    if team is None or not any(m.pbx_extensions for m in team.managers.values()):
        raise click.ClickException(text("cli.fetch.no_extensions"))
    try:
        client = make_provider(provider, api_url, key_file)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    store = open_store(db, must_exist=False, read_only=False)
    try:
        summary = fetch_period(client, store, root, team, since.date() if since else None,
                               last.date() if last else None,
                               options=FetchOptions(mask_numbers=mask_numbers),
                               on_status=lambda s: click.echo(s.line(lang)))
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
        store.close()
    for error in summary.listing_errors:
        click.echo(Message(code="pbx_listing", params={"reason": error}).text(lang), err=True)
    counts = ", ".join(Message(code=f"pbx_count_{k}", params={"n": summary.count(k)}).text(lang)
                       for k in ("fetched", "present", "dial", "unassigned", "failed", "gone") if summary.count(k))
    period = (f"{since:%Y-%m-%d}…{last:%Y-%m-%d}" if since and last
              else Message(code="pbx_period_queue").text(lang))
    click.echo(Message(code="pbx_summary", params={"provider": provider, "period": period, "counts": counts or
                                                   Message(code="pbx_no_calls").text(lang)}).text(lang))
    if not summary.complete:
        raise SystemExit(EXIT_INCOMPLETE)
