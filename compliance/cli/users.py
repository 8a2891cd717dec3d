"""`compliance users`: the review app's accounts (the lead and the managers), kept in the history database."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError

from .app import cli
from .options import db_option, open_store


@cli.group()
def users() -> None:
    """Accounts of `compliance serve`: add, list, remove.

    Example: echo 'long secret' | compliance users add lead --role lead --password-stdin
    """


@users.command("add")
@click.argument("login")
@click.option("--role", type=click.Choice(["lead", "manager"]), required=True, help="lead: sees and corrects "
              "everything; manager: sees and disputes their own calls.")
@click.option("--manager", "manager_key", default=None, help="A manager's roster key (whose calls they see).")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input "
              "(never from the command line, where other users and the shell history would see it).")
@db_option
def users_add(login: str, role: str, manager_key: Optional[str], password_stdin: bool, db: Path) -> None:
    """Add an account, or set a new password and role for an existing one.

    Example: printf '%s' "$PASS" | compliance users add ivanova --role manager --manager ivanova --password-stdin
    """
    from compliance.history.roster import normalize_manager_key
    from compliance.review.users import add_user

    password = sys.stdin.readline().rstrip("\r\n")
    with open_store(db, must_exist=False, read_only=False) as store:
        try:
            made = add_user(store, login, role, password,
                            normalize_manager_key(manager_key) if manager_key else None)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{made.login}: {made.role}" + (f" ({made.manager})" if made.manager else ""))


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
    click.echo(f"{login}: removed")
