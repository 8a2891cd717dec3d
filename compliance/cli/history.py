"""`compliance readiness`, `daily`, `export`: what the stored history says."""
from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any, Optional

import click

from compliance.cli.app import cli
from compliance.files import atomic_writer, write_atomic
from compliance.text.catalogue import current, plural, text
from compliance.text.os_errors import describe_write_error

from .options import (
    DAY,
    db_option,
    load_team_or_fail,
    open_store,
    pick_one,
    resolve_team_path,
    team_option,
)


def _format_readiness(r) -> str:
    who = f"{r.manager_name} ({r.manager})" if r.manager_name else r.manager
    if r.level == "newcomer":
        state = {True: "ready", False: "not_ready", None: "unknown"}[r.ready]
    else:
        state = "review" if r.flagged_for_review else "ok"
    mean = f"{r.mean_adherence:.1f} %" if r.mean_adherence is not None else "—"
    level = text(f"cli.level.{r.level}") if r.level in ("newcomer", "experienced") else r.level
    lines = [f"{who} — {level}: {text('cli.readiness.state.' + state)}",
             text("cli.readiness.in_window", considered=r.calls_considered, window=r.window,
                  share=r.share_in_band * 100, mean=mean)]
    if r.counts is not None:
        lines.append(f"  {r.counts.text(current())}")
    if r.stage_presence:
        weakest = ", ".join(f"{s} {r.stage_presence[s] * 100:.0f} %" for s in r.weakest_stages)
        lines.append(text("cli.readiness.weakest", stages=weakest or text("cli.readiness.no_weak")))
    for reason in r.reasons:
        lines.append(f"  - {reason}")
    return "\n".join(lines)


@cli.command()
@click.argument("manager", required=False)
@db_option
@team_option
@click.option("--window", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--min-share", type=click.FloatRange(0, 1), default=0.8, show_default=True)
@click.option("--min-stage-presence", type=click.FloatRange(0, 1), default=0.9, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def readiness(manager: Optional[str], db: Path, team_path: Optional[Path], window: int, min_share: float,
              min_stage_presence: float, as_json: bool) -> None:
    """Who is ready for the general structure; which experienced managers need a review.

    Example: compliance readiness ivanova --team samples/team.yaml
    """
    from compliance.history.readiness import history_readiness
    from compliance.history.roster import normalize_manager_key

    roster = load_team_or_fail(resolve_team_path(team_path))
    with open_store(db) as store:
        key = normalize_manager_key(manager) if manager else None
        if key and not (roster and roster.get(key)) and not store.has_calls(key):
            raise click.ClickException(text("cli.readiness.no_manager", manager=manager))
        results = history_readiness(store, roster, [key] if key else None, window=window, min_share=min_share,
                                    min_stage_presence=min_stage_presence)
    for i, r in enumerate(results.values()):
        if as_json:
            click.echo(json.dumps(r.model_dump(mode="json"), ensure_ascii=False))
        else:
            click.echo(("\n" if i else "") + _format_readiness(r))


class _Money(click.ParamType):
    """A sum of money as people type it: ``45000``, ``45 000``, ``12,5``; finite and not negative."""

    name = "sum"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            typed = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
            try:
                number = float(typed)
            except ValueError:
                self.fail(text("cli.money.bad", value=value), param, ctx)
        if not math.isfinite(number) or number < 0 or number >= 1e15:
            self.fail(text("cli.money.range", value=value), param, ctx)
        return number


MONEY = _Money()


def _known_manager_or_fail(store: Any, key: str, given: str) -> str:
    """The stored manager that ``given`` names. An unknown manager is an error, not an empty report (a typo would
    otherwise look like a bad day); a part of a name that fits several lists them and, at a terminal, asks which."""
    from compliance.history.daily import manager_matches

    matches = manager_matches(store, given)
    if len(matches) == 1 and matches[0].id == key or store.has_calls(key):
        return key
    if not matches:
        raise click.ClickException(text("cli.manager.unknown", given=given))
    shown = [f"{m.id} ({m.name})" if m.name else m.id for m in matches]
    return matches[pick_one(given, shown, "manager")].id


def _no_calls_hint(store: Any, key: str, day: str, db: Path) -> Optional[str]:
    """What to try when a day has no calls of a manager: the nearest days that have some, and the batch."""
    from compliance.history.daily import days_with_calls
    from compliance.text.catalogue import current
    from compliance.text.dates import shown_day

    lang = current()
    near = [shown_day(d, lang) for d in days_with_calls(store, key, day)]
    return text("cli.daily.no_calls", day=shown_day(day, lang), key=key, db=db,
                near=text("cli.daily.near", days=", ".join(near)) if near else "")


@cli.command()
@click.argument("manager")
@click.option("--date", "day", type=DAY, default=None)
@click.option("--sales-sum", type=MONEY, default=None)
@click.option("--sales-count", type=click.IntRange(min=0), default=None)
@db_option
@team_option
def daily(manager: str, day: Optional[dt.datetime], sales_sum: Optional[float], sales_count: Optional[int],
          db: Path, team_path: Optional[Path]) -> None:
    """Print the manager's daily report: connected calls and chats the client replied in, apart and summed
    against the daily target (team.yaml's targets:, default 40 contacts). Sales given are kept for the day
    (the week/month export sums them).

    Example: compliance daily ivanova --date 2026-11-27 --sales-sum 15000 --sales-count 2
    """
    from compliance.history.daily import daily_report
    from compliance.history.roster import normalize_manager_key

    writes = sales_sum is not None or sales_count is not None
    roster = load_team_or_fail(resolve_team_path(team_path))
    with open_store(db, read_only=not writes) as store:
        key = _known_manager_or_fail(store, normalize_manager_key(manager), manager)
        report = daily_report(store, key, day.date() if day else None, sales_sum=sales_sum,
                              sales_count=sales_count, targets=roster.targets_for(key) if roster else None,
                              currency=roster.currency if roster else "UAH")
        hint = _no_calls_hint(store, key, report.date, db) if not report.calls and not report.chats else None
    click.echo(report.text(current()))
    if report.sales_from_crm:
        click.echo(text("cli.daily.crm_sales"), err=True)
    if hint:
        click.echo(hint, err=True)


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--by", "by", type=click.Choice(["call", "day", "week", "month"]), default="call", show_default=True)
@click.option("--since", type=DAY, default=None)
@click.option("--until", type=DAY, default=None)
@click.option("--manager", default=None)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@db_option
@team_option
def export(fmt: str, by: str, since: Optional[dt.datetime], until: Optional[dt.datetime], manager: Optional[str],
           output: Optional[Path], db: Path, team_path: Optional[Path]) -> None:
    """Export the history for a spreadsheet: one row per call, or per manager per day, week or month (CSV is
    UTF-8 with BOM and no cell runs as a formula: import it into Google Sheets).

    Example: compliance export --by week --since 2026-11-01 -o weeks.csv
    """
    from compliance.history.daily import render_table
    from compliance.history.periods import PeriodRow, period_rows
    from compliance.history.roster import normalize_manager_key

    if output is not None and not str(output).strip():
        raise click.UsageError(text("cli.export.no_name"))
    if since and until and since > until:
        raise click.UsageError(text("cli.since_after_until", since=since.date(), until=until.date()))
    with open_store(db) as store:
        key = normalize_manager_key(manager) if manager else None
        if key is not None:
            key = _known_manager_or_fail(store, key, manager or "")
        first, last = (since.date() if since else None), (until.date() if until else None)
        if by == "call":  # a year of calls: read and written a chunk at a time, never all in memory
            count = _export_calls(store, fmt, first, last, key, output)
            what = "cli.export.calls"
        else:
            rows = period_rows(store, by, since=first, until=last, manager=key,
                               team=load_team_or_fail(resolve_team_path(team_path)))
            table = render_table([r.model_dump() for r in rows], fmt, list(PeriodRow.model_fields))
            count, what = len(rows), "cli.export.rows"
            _write_output(output, (("\ufeff" if fmt == "csv" else "") + table).encode("utf-8"))
    if output is not None:
        click.echo(plural(what, count, output=output), err=True)


def _write_output(output: Optional[Path], data: bytes) -> None:
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        write_atomic(output, data)
    except OSError as exc:
        raise click.ClickException(text("cli.export.cannot_write", output=output,
                                        why=describe_write_error(output, exc))) from None


def _export_calls(store: Any, fmt: str, since: Optional[dt.date], until: Optional[dt.date], manager: Optional[str],
                  output: Optional[Path]) -> int:
    """One row per call, streamed to ``output`` (replaced when complete) or stdout; returns the number of rows."""
    import io

    from compliance.history.daily import write_export

    stage_ids = store.stage_ids(since, until, manager)
    records = store.iter_calls(since, until, manager, with_transcripts=False)

    def write(binary: Any) -> int:
        out = io.TextIOWrapper(binary, encoding="utf-8", newline="", write_through=False)
        try:
            if fmt == "csv":
                out.write("\ufeff")
            return write_export(records, fmt, stage_ids, out)
        finally:
            out.flush()
            out.detach()

    if output is None:
        count = write(sys.stdout.buffer)
        sys.stdout.flush()
        return count
    try:
        with atomic_writer(output) as fh:
            return write(fh)
    except OSError as exc:
        raise click.ClickException(text("cli.export.cannot_write", output=output,
                                        why=describe_write_error(output, exc))) from None
