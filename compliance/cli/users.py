"""`compliance users`: the review app's accounts (the lead and the managers), kept in the history database."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError
from compliance.text.catalogue import text

from .app import cli
from .options import db_option, load_team_or_fail, open_store, resolve_team_path, team_option


@cli.group()
def users() -> None:
    """Accounts of `compliance serve`: add, list, remove.

    Example: echo 'long secret' | compliance users add lead --role lead --password-stdin
    """


@users.command("add")
@click.argument("login")
@click.option("--role", type=click.Choice(["lead", "manager"]), required=True)
@click.option("--manager", "manager_key", default=None)
@click.option("--password-stdin", is_flag=True)
@click.option("--reset", is_flag=True)
@db_option
@team_option
def users_add(login: str, role: str, manager_key: Optional[str], password_stdin: bool, reset: bool, db: Path,
              team_path: Optional[Path]) -> None:
    """Add an account; --reset gives an existing one a new password and role.

    A manager account names a manager of the roster (--team, default ./team.yaml), or of the history's calls when
    there is no roster. At a terminal the password is asked for twice, hidden.

    Example: printf '%s' "$PASS" | compliance users add ivanova --role manager --manager ivanova --password-stdin
    """
    from compliance.review.users import add_user, check_manager_key

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif _terminal():
        password = click.prompt(text("cli.users.password"), hide_input=True, confirmation_prompt=True,
                                prompt_suffix=": ")
    else:
        raise click.UsageError(text("cli.users.no_terminal"))
    roster_path = resolve_team_path(team_path)
    roster = load_team_or_fail(roster_path)
    with open_store(db, must_exist=False, read_only=False) as store:
        try:
            manager = None
            if manager_key:
                manager = check_manager_key(manager_key, list(roster.managers) if roster else None,
                                            _stored_managers(store),
                                            roster_path.name if roster_path else "team.yaml")
            made = add_user(store, login, role, password, manager, reset=reset)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{made.login}: {made.role}" + (f" ({made.manager})" if made.manager else ""))


def _stored_managers(store) -> list[str]:
    """The managers the history knows: those of its roster copy and those of its calls."""
    calls = [row[0] for row in store.query("SELECT DISTINCT manager FROM calls")]
    return [m.id for m in store.managers()] + calls


def _terminal() -> bool:
    """Whether a person is there to type the password (standard input is a terminal)."""
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


@users.command("list")
@db_option
def users_list(db: Path) -> None:
    """List the accounts: login, role, the manager whose calls they see.

    Example: compliance users list --db compliance.db
    """
    from compliance.review.users import users as all_users

    with open_store(db, read_only=False) as store:
        for u in all_users(store):
            click.echo(f"{u.login}\t{u.role}\t{u.manager or ''}\t{u.created_at}")


@users.command("remove")
@click.argument("login")
@db_option
def users_remove(login: str, db: Path) -> None:
    """Remove an account; its sessions end at their next request.

    Example: compliance users remove ivanova
    """
    from compliance.review.users import remove_user

    with open_store(db, read_only=False) as store:
        try:
            remove_user(store, login)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(text("cli.users.removed", login=login))
