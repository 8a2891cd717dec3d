"""`compliance pipedrive`: analysed calls written to Pipedrive as notes (push), and its users listed (users)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError
from compliance.files import shown_path
from compliance.text.catalogue import text

from .options import DAY, db_option, lang_option, load_team_or_fail, open_store, resolve_team_path, team_option

ACTIONS = ("note_created", "note_updated", "call_log_created", "recording_attached")


def _connection(func):
    """``--api-url`` and ``--token-file``: which Pipedrive, and the token (never printed)."""
    func = click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None)(func)
    return click.option("--api-url", default=None)(func)


def _client(api_url: Optional[str], token_file: Optional[Path]):
    from compliance.crm.pipedrive import PipedriveClient, api_base, load_token

    try:
        return PipedriveClient(api_base(api_url), load_token(token_file))
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None


@cli.group()
def pipedrive() -> None:
    """Pipedrive: each analysed call written to its deal (or person) as a note, so the CRM entry is written for
    the manager.

    Example: compliance pipedrive push --since 2026-11-27 --dry-run
    """


@pipedrive.command("push")
@click.option("--since", type=DAY, default=None)
@click.option("--dry-run", is_flag=True)
@click.option("--create-call-logs", is_flag=True)
@click.option("--attach-recordings", is_flag=True)
@lang_option
@click.option("--timezone", default=None)
@click.option("--tolerance", type=click.FloatRange(min=0.1, max=1440), default=5.0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@_connection
@db_option
@team_option
def push(since: Optional[dt.datetime], dry_run: bool, create_call_logs: bool, attach_recordings: bool, lang: str,
         timezone: Optional[str], tolerance: float, as_json: bool, api_url: Optional[str], token_file: Optional[Path],
         db: Path, team_path: Optional[Path]) -> None:
    """Write each analysed call since DATE to Pipedrive as a note on its deal, else its person.

    The deal or person is found from the telephony's call log (same number, start within --tolerance) or by the
    client's number. A second run writes nothing new; a re-scored call updates its note.

    Example: compliance pipedrive push --since 2026-11-27 --team team.yaml --create-call-logs
    """
    from compliance.crm.push import PushOptions, push_to_pipedrive

    if attach_recordings and not create_call_logs:
        raise click.UsageError(text("cli.pipedrive.attach_needs_create"))
    roster = load_team_or_fail(resolve_team_path(team_path))
    options = PushOptions(since=since.date() if since else None, dry_run=dry_run, create_call_logs=create_call_logs,
                          attach_recordings=attach_recordings, lang=lang, timezone=timezone,
                          tolerance_minutes=tolerance)
    with _client(api_url, token_file) as client, open_store(db, read_only=dry_run) as store:
        try:
            summary = push_to_pipedrive(store, client, options, team=roster)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=1))
    elif summary.stopped is None or summary.actions:
        _echo_summary(summary, client.base_url)
    if summary.stopped:
        raise click.ClickException(summary.stopped)
    if summary.exit_code:
        raise SystemExit(summary.exit_code)


def _echo_summary(summary, base_url: str) -> None:
    head = text("cli.pipedrive.dry_head", url=base_url) if summary.dry_run else f"Pipedrive ({base_url})"
    click.echo(text("cli.pipedrive.summary", head=head, calls=summary.calls, created=summary.notes_created,
                    updated=summary.notes_updated, unchanged=summary.unchanged, logs=summary.call_logs_created,
                    recordings=summary.recordings_attached))
    words = "cli.pipedrive.dry." if summary.dry_run else "cli.pipedrive.action."
    for act in summary.actions:
        action = text(words + act.action) if act.action in ACTIONS else act.action
        click.echo(f"  {action}: {shown_path(act.file)} → {act.target}")
    for skip in summary.skipped:
        click.echo(text("cli.pipedrive.skipped", file=shown_path(skip.file), reason=skip.reason))
    for fail in summary.failed:
        click.echo(text("cli.pipedrive.failed", file=shown_path(fail.file), reason=fail.reason))
    if summary.without_user:
        click.echo(text("cli.pipedrive.without_user", names=", ".join(summary.without_user)))


@pipedrive.command("users")
@click.option("--json", "as_json", is_flag=True)
@_connection
def users(as_json: bool, api_url: Optional[str], token_file: Optional[Path]) -> None:
    """List the company's Pipedrive users, to fill in pipedrive_user_id in the roster.

    Example: compliance pipedrive users
    """
    with _client(api_url, token_file) as client:
        try:
            found = [u for u in client.paginate("/users") if isinstance(u, dict)]
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    rows = [{"id": u.get("id"), "name": u.get("name", ""), "email": u.get("email", ""),
             "active": bool(u.get("active_flag", True))} for u in found]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    click.echo(text("cli.pipedrive.users_head", id="id", name=text("cli.pipedrive.col.name"),
                    email=text("cli.pipedrive.col.email"), active=text("cli.pipedrive.col.active")))
    for r in rows:
        click.echo(f"{r['id']!s:>10}  {r['name']:<28} {r['email']:<32} "
                   f"{text('cli.pipedrive.yes' if r['active'] else 'cli.pipedrive.no')}")
    click.echo(text("cli.pipedrive.users_hint"))


@pipedrive.command("sync")
@click.option("--full", is_flag=True)
@_connection
@db_option
def sync(full: bool, api_url: Optional[str], token_file: Optional[Path], db: Path) -> None:
    """Refresh the outcomes (open / won / lost, value, lost reason) of the deals the analysed calls are linked to.

    Example: compliance pipedrive sync
    """
    from compliance.crm.outcomes import sync_outcomes

    with _client(api_url, token_file) as client, open_store(db, read_only=False) as store:
        try:
            summary = sync_outcomes(client, store, client.base_url, full=full)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(text("cli.pipedrive.synced", url=client.base_url, linked=summary.linked, read=summary.read,
                    changed=summary.changed, deleted=summary.deleted))
    for error in summary.errors:
        click.echo(text("cli.pipedrive.error", error=error), err=True)
    if summary.errors:
        raise SystemExit(3)


@pipedrive.command("outcomes")
@click.option("--script", "script_path", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--min-deals", type=click.IntRange(min=1), default=None)
@click.option("--json", "as_json", is_flag=True)
@click.option("--api-url", default=None)
@db_option
def outcomes(script_path: Optional[Path], min_deals: Optional[int], as_json: bool, api_url: Optional[str],
             db: Path) -> None:
    """Does the script sell? Per stage: the win rate of closed deals whose calls had it, against those without,
    with a 95 % interval; per manager: conversion and the mean won deal. Run `pipedrive sync` first.

    Example: compliance pipedrive outcomes --min-deals 30
    """
    from compliance.crm.pipedrive import api_base
    from compliance.history.outcomes import MIN_GROUP, conversions, deal_stages, stage_lifts

    from .options import load_script_or_fail

    script = load_script_or_fail(script_path)
    titles = {stage.id: stage.title for stage in script.stages}
    with open_store(db) as store:
        deals = deal_stages(store, api_base(api_url), list(titles))
    lifts = stage_lifts(deals, titles, min_group=min_deals or MIN_GROUP)
    conv = conversions(deals)
    if as_json:
        click.echo(json.dumps({"stages": [_lift_json(x) for x in lifts],
                               "managers": [_conversion_json(c) for c in conv.values()]}, ensure_ascii=False, indent=1))
        return
    closed = sum(d.closed for d in deals)
    click.echo(text("cli.pipedrive.closed", closed=closed, deals=len(deals)))
    for lift in lifts:
        click.echo(f"  {lift.title}: {_lift_sentence(lift)}")
    for who, c in conv.items():
        if c.closed:
            low, high = c.interval
            mean = text("cli.pipedrive.mean_deal", value=f"{c.mean_value:,.0f}".replace(",", " "),
                        currency=c.currency) if c.mean_value is not None else ""
            click.echo(text("cli.pipedrive.conversion", who=who or text("cli.pipedrive.team"), won=c.won,
                            closed=c.closed, rate=100 * (c.rate or 0), low=100 * low, high=100 * high, mean=mean))


def _lift_sentence(lift) -> str:
    if lift.claim == "few":
        return text("cli.pipedrive.lift.few", with_deals=lift.with_deals, without_deals=lift.without_deals,
                    min_group=lift.min_group)
    low, high = lift.interval
    head = text("cli.pipedrive.lift.head", rate_with=100 * lift.rate_with, with_deals=lift.with_deals,
                rate_without=100 * lift.rate_without, without_deals=lift.without_deals)
    span = text("cli.pipedrive.lift.span", low=100 * low, high=100 * high)
    verdict = text(f"cli.pipedrive.lift.{lift.claim}")
    return f"{head}: {verdict} ({span})"


def _lift_json(lift) -> dict:
    interval = lift.interval
    return {**lift.model_dump(), "rate_with": lift.rate_with, "rate_without": lift.rate_without,
            "claim": lift.claim, "interval": list(interval) if interval else None}


def _conversion_json(c) -> dict:
    return {**c.model_dump(), "rate": c.rate, "interval": list(c.interval), "mean_value": c.mean_value}




@pipedrive.command("check")
@click.option("--since", type=DAY, default=None)
@click.option("--until", type=DAY, default=None)
@click.option("--apply", "apply_fixes", is_flag=True)
@_connection
@db_option
@team_option
def check(since: Optional[dt.datetime], until: Optional[dt.datetime], apply_fixes: bool, api_url: Optional[str],
          token_file: Optional[Path], db: Path, team_path: Optional[Path]) -> None:
    """Calls whose deal disagrees with the call, per manager and day: can't deliver said but the deal open; a next
    step or payment agreed but nothing scheduled. Run `pipedrive sync` first. Also deals handled a day against the
    roster's leads_per_day.

    Example: compliance pipedrive check --since 27.11.2026 --apply
    """
    from compliance.crm.check import check_crm
    from compliance.history.roster import Targets

    roster = load_team_or_fail(resolve_team_path(team_path))
    with _client(api_url, token_file) as client, open_store(db, read_only=not apply_fixes) as store:
        try:
            summary = check_crm(store, client, client.base_url, since=str(since.date()) if since else None,
                                until=str(until.date()) if until else None, apply=apply_fixes)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    head = text("cli.pipedrive.check.applied_head" if apply_fixes else "cli.pipedrive.check.dry_head")
    click.echo(text("cli.pipedrive.check.summary", checked=summary.checked, head=head,
                    count=summary.applied if apply_fixes else len(summary.findings), already=summary.already))
    for f in summary.findings:
        state = ((text("cli.pipedrive.check.fixed") if f.applied else text("cli.pipedrive.check.error", error=f.error))
                 if apply_fixes else text(f"cli.pipedrive.fix.{f.kind}"))
        click.echo(text("cli.pipedrive.check.row", date=f.date, time=f.time or "", manager=f.manager, deal=f.deal_id,
                        what=text(f"cli.pipedrive.check.{f.kind}"), evidence=f.evidence[:80], state=state))
    for manager, days in summary.deals_per_day.items():
        target = (roster.targets_for(manager) if roster else Targets()).leads_per_day
        for day, count in days.items():
            click.echo(text("cli.pipedrive.check.leads", day=day, manager=manager, count=count, target=target))
    if any(f.error for f in summary.findings):
        raise SystemExit(3)
