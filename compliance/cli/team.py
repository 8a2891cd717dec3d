"""`compliance team`: the roster: list managers, change a manager's level."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError
from compliance.scoring.choices import LEVELS
from compliance.text.catalogue import plural, text

from .audio import _options, transcribe_options
from .options import (
    DAY,
    DEFAULT_DB,
    DEFAULT_TEAM,
    db_option,
    load_script_or_fail,
    load_team_or_fail,
    open_store,
    resolve_team_path,
    script_option,
    team_option,
)


@cli.group()
def team() -> None:
    """The team roster: managers, their level (newcomer / experienced) and since when."""


@team.command("list")
@team_option
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True)
def team_list(team_path: Optional[Path], db: Path) -> None:
    """List the managers of the roster (and unknown ones found in the history).

    Example: compliance team list --team samples/team.yaml
    """
    path = resolve_team_path(team_path)
    roster = load_team_or_fail(path)
    if roster is None and not db.exists():
        raise click.ClickException(text("cli.team.no_roster"))
    rows = []
    if roster:
        for key, m in roster.managers.items():
            rows.append((key, m.name, m.level, m.since.isoformat() if m.since else "", m.script or "", ""))
    if db.exists():
        with open_store(db) as store:
            listed = {r[0] for r in rows}
            for m in store.managers():
                if m.id not in listed and not (roster and roster.get(m.id)):
                    rows.append((m.id, m.name, "newcomer", "", "", text("cli.team.not_listed")))
    click.echo(text("cli.team.head", **{col: text(f"cli.team.col.{col}") for col in
                                        ("manager", "name", "level", "since", "script", "note")}))
    for key, name, level, since, script, note in rows:
        click.echo(f"{key:<14} {name:<22} {level:<12} {since:<11} {script:<14} {note}".rstrip())


@team.command("set-level")
@click.argument("manager")
@click.argument("level", type=click.Choice(LEVELS))
@team_option
@click.option("--since", type=DAY, default=None)
@click.option("--name", default=None)
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
    click.echo(text("cli.team.level_set", id=m.id, level=m.level, since=m.since, path=path))


@team.command("enroll")
@click.argument("manager")
@click.argument("recordings", nargs=-1, required=True, type=click.Path(path_type=Path))
@db_option
@script_option
@transcribe_options
def team_enroll(manager: str, recordings: tuple[Path, ...], db: Path, script_path: Optional[Path],
                **kwargs: object) -> None:
    """Store a manager's voice print from a few of their calls (stereo or mono): on a one-channel call their
    voice then tells which party is the manager, beside the script. A call that cannot give a print (too little
    of the manager's speech, parties not told apart, a bad file) is listed and skipped.

    Example: compliance team enroll ivanova calls/ivanova/0601.mp3 calls/ivanova/0602.mp3 --db history.db
    """
    from compliance.history.voices import save_voice
    from compliance.speech.voiceprint import enroll

    script = load_script_or_fail(script_path)
    try:
        done = enroll(list(recordings), _options(script, dict(kwargs)), script,
                      cache_dir=kwargs.get("cache_dir"))  # type: ignore[arg-type]
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    for why in done.skipped:
        click.echo(text("cli.team.skipped", why=why), err=True)
    if not done.vector:
        raise click.ClickException(text("cli.team.no_print", manager=manager, n=len(recordings)))
    with open_store(db, must_exist=False, read_only=False) as store:
        voice = save_voice(store, manager, done.vector, done.used)
    click.echo(plural("cli.team.enrolled", voice.calls, manager=manager, db=db))
