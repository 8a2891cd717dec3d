"""`compliance review`: the lead's overrides from the command line, and machine-vs-lead agreement."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError

from .app import cli
from .options import db_option, open_store


@cli.group()
def review() -> None:
    """Correct the machine and see where it is weak.

    Example: compliance review agreement --since 2026-11-01
    """


@review.command("override")
@click.argument("call_id")
@click.argument("stage_id")
@click.option("--present/--absent", default=None, required=True, help="The stage was said / was not said.")
@click.option("--line", type=click.IntRange(min=1), default=None, help="Only this line of the stage (from 1).")
@click.option("--by", "by", required=True, help="Who decides: a lead's login (see `compliance users list`).")
@click.option("--note", default="", help="Why.")
@db_option
def review_override(call_id: str, stage_id: str, present: bool, line: Optional[int], by: str, note: str,
                    db: Path) -> None:
    """Mark a stage (or one of its lines) of a call present or absent; the call's scores are recomputed.

    Example: compliance review override 3f2a… needs --present --by lead --note "asked in other words"
    """
    from compliance.review.ledger import set_override
    from compliance.review.users import known_lead

    with open_store(db, read_only=False) as store:
        try:
            known_lead(store, by)
            record = set_override(store, call_id, stage_id, present, by=by, note=note,
                                  line=line - 1 if line else None)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    machine = record.machine.adherence if record.machine else record.result.adherence
    click.echo(f"{record.call_id}: {stage_id} → {'есть' if present else 'нет'}; соответствие "
               f"{record.result.adherence:.1f} % (машина: {machine:.1f} %), покрытие {record.result.coverage:.0f} %")


@review.command("agreement")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Calls from this date.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@db_option
def review_agreement(since: Optional[dt.datetime], as_json: bool, db: Path) -> None:
    """How often the lead overrode the machine, per stage and per line, with Cohen's kappa.

    Example: compliance review agreement --since 2026-11-01
    """
    from compliance.review.agreement import agreement_report

    with open_store(db) as store:
        report = agreement_report(store, since.date() if since else None)
    if as_json:
        click.echo(json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=1))
        return
    o = report.overall
    click.echo(f"Проверено звонков: {report.calls_reviewed}; решений по этапам: {o.reviewed}, "
               f"исправлено: {o.overridden}; согласие {_share(o.agreement)}, каппа Коэна {_kappa(o.kappa)}")
    for a in report.stages:
        click.echo(f"  {a.key:<18} исправлено {a.overridden} из {a.reviewed}  согласие {_share(a.agreement)}  "
                   f"каппа {_kappa(a.kappa)}")
    for a in report.lines:
        click.echo(f"  строка {a.key}: исправлено {a.overridden} из {a.reviewed} — «{a.title}»")


def _share(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _kappa(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.2f}"
