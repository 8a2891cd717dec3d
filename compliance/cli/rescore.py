"""`compliance rescore`: the whole history scored again after a script edit, without transcribing."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click

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
@click.option("--script", "scripts", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Edited script(s); calls scored against a script of the same id use it. Default: the stored ones.")
@click.option("--since", type=DAY, default=None, help="Only calls from this date.")
@click.option("--until", type=DAY, default=None, help="Only calls up to this date.")
@click.option("--manager", default=None, help="Only this manager's calls.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
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
        raise click.UsageError(f"--since {since.date()} is after --until {until.date()}")
    loaded = [load_script_or_fail(path) for path in scripts]
    roster = load_team_or_fail(resolve_team_path(team_path))
    with open_store(db, read_only=False) as store:
        summary = rescore_history(store, loaded, since=since.date() if since else None,
                                  until=until.date() if until else None,
                                  manager=normalize_manager_key(manager) if manager else None, team=roster)
    if as_json:
        click.echo(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    click.echo(f"Пересчитано {summary.rescored} звонков за {summary.elapsed:.1f} с; изменилась оценка: "
               f"{summary.changed}; пропущено: {len(summary.skipped)}")
    for line in summary.skipped:
        click.echo(f"  пропущен: {line}")
    for line in summary.orphaned:
        click.echo(f"  решение руководителя не применено, этапа больше нет в скрипте: {line}")
