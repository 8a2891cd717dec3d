"""`compliance team`: the roster: list managers, change a manager's level."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError
from compliance.history.roster import LEVELS

from .options import (
    DAY,
    DEFAULT_DB,
    DEFAULT_TEAM,
    load_team_or_fail,
    open_store,
    resolve_team_path,
    team_option,
)


@cli.group()
def team() -> None:
    """The team roster: managers, their level (newcomer / experienced) and since when."""


@team.command("list")
@team_option
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="History database: also lists managers seen there but not in the roster.")
def team_list(team_path: Optional[Path], db: Path) -> None:
    """List the managers of the roster (and unknown ones found in the history).

    Example: compliance team list --team samples/team.yaml
    """
    path = resolve_team_path(team_path)
    roster = load_team_or_fail(path)
    if roster is None and not db.exists():
        raise click.ClickException("no roster: pass --team team.yaml (see samples/team.yaml)")
    rows = []
    if roster:
        for key, m in roster.managers.items():
            rows.append((key, m.name, m.level, m.since.isoformat() if m.since else "", m.script or "", ""))
    if db.exists():
        with open_store(db) as store:
            listed = {r[0] for r in rows}
            for m in store.managers():
                if m.id not in listed and not (roster and roster.get(m.id)):
                    rows.append((m.id, m.name, "newcomer", "", "", "нет в составе"))
    click.echo(f"{'менеджер':<14} {'имя':<22} {'уровень':<12} {'с':<11} {'скрипт':<14} примечание")
    for key, name, level, since, script, note in rows:
        click.echo(f"{key:<14} {name:<22} {level:<12} {since:<11} {script:<14} {note}".rstrip())


@team.command("set-level")
@click.argument("manager")
@click.argument("level", type=click.Choice(LEVELS))
@team_option
@click.option("--since", type=DAY, default=None,
              help="Date of the change (default: today).")
@click.option("--name", default=None, help="Display name; with it an unknown manager is added.")
def team_set_level(manager: str, level: str, team_path: Optional[Path], since: Optional[dt.datetime],
                   name: Optional[str]) -> None:
    """Set a manager's level in the roster (e.g. after promotion to the general structure).

    Example: compliance team set-level ivanova experienced --team samples/team.yaml
    """
    from compliance.history.roster import set_level

    path = team_path or DEFAULT_TEAM
    try:
        m = set_level(path, manager, level, since=since.date() if since else None, name=name,
                      create=name is not None)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{m.id}: {m.level} с {m.since}  ({path})")
