"""`compliance rescore`: the whole history scored again after a script edit, without transcribing."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click

from compliance.text.catalogue import text

from .app import cli
from .options import (
    DAY,
    db_option,
    load_script_or_fail,
    load_team_or_fail,
    open_store,
    resolve_team_path,
    team_option,
)


@cli.command()
@click.option("--script", "scripts", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--since", type=DAY, default=None)
@click.option("--until", type=DAY, default=None)
@click.option("--manager", default=None)
@click.option("--json", "as_json", is_flag=True)
@team_option
@db_option
def rescore(scripts: tuple[Path, ...], since: Optional[dt.datetime], until: Optional[dt.datetime],
            manager: Optional[str], as_json: bool, team_path: Optional[Path], db: Path) -> None:
    """Re-score stored calls from their stored transcripts (after a script edit): nothing is transcribed.

    The bands come from the roster's ``targets.bands`` (team.yaml), else from the scripts' ``levels:``.

    Example: compliance rescore --script scripts_yaml/sales_call.ru.yaml --since 2026-11-01
    """
    from compliance.history.rescore import rescore_history
    from compliance.history.roster import normalize_manager_key

    if since and until and since > until:
        raise click.UsageError(text("cli.since_after_until", since=since.date(), until=until.date()))
    loaded = [load_script_or_fail(path) for path in scripts]
    roster = load_team_or_fail(resolve_team_path(team_path))
    with open_store(db, read_only=False) as store:
        summary = rescore_history(store, loaded, since=since.date() if since else None,
                                  until=until.date() if until else None,
                                  manager=normalize_manager_key(manager) if manager else None, team=roster)
    if as_json:
        click.echo(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    click.echo(text("cli.rescore.done", n=summary.rescored, elapsed=summary.elapsed, changed=summary.changed,
                    skipped=len(summary.skipped)))
    for line in summary.skipped:
        click.echo(text("cli.rescore.skipped", line=line))
    for line in summary.orphaned:
        click.echo(text("cli.rescore.orphaned", line=line))
