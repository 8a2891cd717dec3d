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
from compliance.reports.i18n import LANGUAGES

from .options import DAY, db_option, load_team_or_fail, open_store, resolve_team_path, team_option

ACTION_WORDS = {"note_created": "заметка создана", "note_updated": "заметка обновлена",
                "call_log_created": "журнал звонка создан", "recording_attached": "запись приложена"}
DRY_RUN_WORDS = {"note_created": "создать заметку", "note_updated": "обновить заметку",
                 "call_log_created": "создать журнал звонка", "recording_attached": "приложить запись"}


def _connection(func):
    """``--api-url`` and ``--token-file``: which Pipedrive, and the token (never printed)."""
    func = click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="File holding the API token (default: the PIPEDRIVE_API_TOKEN variable).")(func)
    return click.option("--api-url", default=None,
                        help="Pipedrive API address: https://api.pipedrive.com (default, or PIPEDRIVE_API_URL), "
                             "or your company's https://COMPANY.pipedrive.com.")(func)


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
@click.option("--since", type=DAY, default=None, help="Only calls from this date.")
@click.option("--dry-run", is_flag=True, help="Say what would be written; write nothing to Pipedrive or the history.")
@click.option("--create-call-logs", is_flag=True,
              help="Where the telephony made no call log for a call, create one (outcome from the analysis).")
@click.option("--attach-recordings", is_flag=True, help="Upload the recording to each call log created.")
@click.option("--lang", type=click.Choice(LANGUAGES), default="ru", show_default=True, help="Language of the notes.")
@click.option("--timezone", default=None,
              help="Time zone of the recorder's clock, e.g. Europe/Kyiv (default: this computer's).")
@click.option("--tolerance", type=click.FloatRange(min=0.1, max=1440), default=5.0, show_default=True,
              help="Minutes between a call's time and a Pipedrive call log's start that still match.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
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
        raise click.UsageError("--attach-recordings uploads to the call logs it creates: add --create-call-logs")
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
    head = f"Пробный запуск ({base_url}), ничего не записано. Было бы" if summary.dry_run else f"Pipedrive ({base_url})"
    click.echo(f"{head}: звонков {summary.calls}; заметок создано {summary.notes_created}, "
               f"обновлено {summary.notes_updated}, без изменений {summary.unchanged}; журналов звонков создано "
               f"{summary.call_logs_created}; записей приложено {summary.recordings_attached}")
    words = DRY_RUN_WORDS if summary.dry_run else ACTION_WORDS
    for act in summary.actions:
        click.echo(f"  {words.get(act.action, act.action)}: {shown_path(act.file)} → {act.target}")
    for skip in summary.skipped:
        click.echo(f"  пропущен: {shown_path(skip.file)}: {skip.reason}")
    for fail in summary.failed:
        click.echo(f"  ошибка: {shown_path(fail.file)}: {fail.reason}")
    if summary.without_user:
        click.echo(f"Без pipedrive_user_id в составе: {', '.join(summary.without_user)} — их заметки и журналы "
                   "пишутся от имени владельца токена; `compliance pipedrive users` покажет id")


@pipedrive.command("users")
@click.option("--json", "as_json", is_flag=True, help="Print the users as JSON.")
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
    click.echo(f"{'id':>10}  {'имя':<28} {'почта':<32} активен")
    for r in rows:
        click.echo(f"{r['id']!s:>10}  {r['name']:<28} {r['email']:<32} {'да' if r['active'] else 'нет'}")
    click.echo("В составе (team.yaml): pipedrive_user_id: <id> у каждого менеджера")


@pipedrive.command("sync")
@click.option("--full", is_flag=True, help="Read every linked deal again (default: only those changed since the last "
                                           "sync).")
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
    click.echo(f"Pipedrive ({client.base_url}): сделок со звонками {summary.linked}; прочитано {summary.read}, "
               f"изменилось {summary.changed}, удалено в CRM {summary.deleted}")
    for error in summary.errors:
        click.echo(f"  ошибка: {error}", err=True)
    if summary.errors:
        raise SystemExit(3)


@pipedrive.command("outcomes")
@click.option("--script", "script_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Script whose stages are compared (default: the bundled sales_call).")
@click.option("--min-deals", type=click.IntRange(min=1), default=None,
              help="Closed deals each group needs before a difference is shown (default 30).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--api-url", default=None, help="Which Pipedrive company's deals (as for push; no token is needed).")
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
    click.echo(f"Закрытых сделок со звонками: {closed} (из {len(deals)}); интервалы — 95 %")
    for lift in lifts:
        click.echo(f"  {lift.title}: {_lift_sentence(lift)}")
    for who, c in conv.items():
        if c.closed:
            low, high = c.interval
            mean = f"; средняя выигранная сделка {c.mean_value:,.0f} {c.currency}".replace(",", " ") \
                if c.mean_value is not None else ""
            click.echo(f"  {who or 'команда'}: конверсия {c.won} из {c.closed} = {100 * (c.rate or 0):.0f} % "
                       f"(от {100 * low:.0f} до {100 * high:.0f} %){mean}")


def _lift_sentence(lift) -> str:
    if lift.claim == "few":
        return (f"мало данных: {lift.with_deals} сделок с этапом и {lift.without_deals} без него "
                f"(нужно не меньше {lift.min_group} в каждой группе)")
    low, high = lift.interval
    head = (f"с этапом выиграно {100 * lift.rate_with:.0f} % из {lift.with_deals}, без него — "
            f"{100 * lift.rate_without:.0f} % из {lift.without_deals}")
    span = f"разница от {100 * low:+.0f} до {100 * high:+.0f} п. п."
    verdict = {"more": "с этапом сделки выигрывают чаще", "less": "с этапом сделки выигрывают реже",
               "unclear": "разница в пределах случайности"}[lift.claim]
    return f"{head}: {verdict} ({span})"


def _lift_json(lift) -> dict:
    interval = lift.interval
    return {**lift.model_dump(), "rate_with": lift.rate_with, "rate_without": lift.rate_without,
            "claim": lift.claim, "interval": list(interval) if interval else None}


def _conversion_json(c) -> dict:
    return {**c.model_dump(), "rate": c.rate, "interval": list(c.interval), "mean_value": c.mean_value}


CHECK_WORDS = {"cannot_deliver_open": "«не можем выполнить» сказано, а сделка открыта",
               "next_step_no_activity": "следующий шаг договорён, а в сделке нет открытого дела",
               "payment_no_followup": "оплату обсудили, а в сделке нет открытого дела"}
FIX_WORDS = {"cannot_deliver_open": "закрыть как проигранную с причиной", "next_step_no_activity": "добавить звонок",
             "payment_no_followup": "добавить звонок"}


@pipedrive.command("check")
@click.option("--since", type=DAY, default=None, help="Calls from this date.")
@click.option("--until", type=DAY, default=None, help="Calls up to this date.")
@click.option("--apply", "apply_fixes", is_flag=True,
              help="Make the changes in Pipedrive (default: only list them). Each change is kept in the history's "
                   "ledger and audit trail and never made twice.")
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
    head = "Исправлено в Pipedrive" if apply_fixes else "Расхождений (пробный запуск, ничего не изменено)"
    click.echo(f"Проверено звонков со сделками: {summary.checked}; {head}: "
               f"{summary.applied if apply_fixes else len(summary.findings)}; исправлено раньше: {summary.already}")
    for f in summary.findings:
        state = ("исправлено" if f.applied else f"ошибка: {f.error}") if apply_fixes else FIX_WORDS[f.kind]
        click.echo(f"  {f.date} {f.time or ''} {f.manager}: сделка {f.deal_id}: {CHECK_WORDS[f.kind]} — "
                   f"«{f.evidence[:80]}» → {state}")
    for manager, days in summary.deals_per_day.items():
        target = (roster.targets_for(manager) if roster else Targets()).leads_per_day
        for day, count in days.items():
            click.echo(f"  {day} {manager}: обработано лидов {count} из {target}")
    if any(f.error for f in summary.findings):
        raise SystemExit(3)
