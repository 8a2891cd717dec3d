"""Commands: report (registered on the main group)."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import click

from compliance.cli.app import cli
from compliance.cli.options import (
    DAY,
    db_option,
    lang_option,
    load_team_or_fail,
    open_store,
    resolve_team_path,
    team_option,
)
from compliance.errors import ComplianceError
from compliance.text.catalogue import text


@cli.command()
@db_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"),
              show_default=True)
@click.option("--since", type=DAY, default=None)
@click.option("--until", type=DAY, default=None)
@click.option("--manager", default=None)
@lang_option
@click.option("--template-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--copy-audio", is_flag=True)
@team_option
def report(db: Path, out_dir: Path, since: Optional[dt.datetime], until: Optional[dt.datetime],
           manager: Optional[str], lang: str, template_dir: Optional[Path], copy_audio: bool,
           team_path: Optional[Path]) -> None:
    """Write the HTML reports from the history: team overview, manager pages, call pages.

    Open OUT/index.html; each manager's folder (OUT/managers/NAME/) holds only their own calls.

    Example: compliance report --since 2026-11-01 --until 2026-11-30 --out reports
    """
    from compliance.history.roster import normalize_manager_key
    from compliance.reports import write_reports_from_store

    if since and until and since > until:
        raise click.UsageError(text("cli.since_after_until", since=since.date(), until=until.date()))
    roster = load_team_or_fail(resolve_team_path(team_path))
    with open_store(db) as store:
        try:
            index = write_reports_from_store(
                store, out_dir, since=since.date() if since else None, until=until.date() if until else None,
                manager=normalize_manager_key(manager) if manager else None, team=roster, lang=lang,
                template_dir=template_dir, copy_audio=copy_audio,
            )
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(text("cli.reports", path=index))
