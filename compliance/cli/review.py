"""`compliance review`: the lead's overrides from the command line, and machine-vs-lead agreement."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError

from .app import cli
from .options import DAY, VERDICT_WORDS, db_option, open_store


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

    A branch stage (one with excludes:) marked absent is "not taken": the stages it excused count again, as missing
    where they were not said; marked present, it is taken.

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
    stage = next((s for s in record.result.stages if s.id == stage_id), None)
    said = ("ветка пройдена" if present else "ветка не пройдена") if stage is not None and stage.excludes and \
        line is None else ("есть" if present else "нет")
    verdict = VERDICT_WORDS.get(str(record.result.verdict), "")
    click.echo(f"{record.call_id}: {stage_id} → {said}; соответствие "
               f"{record.result.adherence:.1f} % (машина: {machine:.1f} %), покрытие {record.result.coverage:.0f} %"
               f"{f', {verdict}' if verdict else ''}")


@review.command("decision")
@click.argument("call_id")
@click.argument("stage_id")
@click.option("--confirm/--drop", "confirm", default=None, required=True,
              help="The decision holds for the call as it is now / withdraw it (the row and the audit trail keep it).")
@click.option("--line-id", default=None, help="A line's decision: the line's id (stage decision when left out).")
@click.option("--by", "by", required=True, help="Who decides (the lead's login).")
@click.option("--note", default="", help="Why.")
@db_option
def review_decision(call_id: str, stage_id: str, confirm: bool, line_id: Optional[str], by: str, note: str,
                    db: Path) -> None:
    """Settle a decision flagged after its call changed («запись изменилась после решения — проверьте»), or one
    whose line left the script.

    Example: compliance review decision 3f2a… needs --confirm --by lead
    """
    from compliance.review.ledger import confirm_decision, drop_decision

    with open_store(db, read_only=False) as store:
        try:
            (confirm_decision if confirm else drop_decision)(store, call_id, stage_id, line_id, by=by, note=note)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"{call_id}: {stage_id}{' ' + line_id if line_id else ''}: "
               f"{'решение подтверждено' if confirm else 'решение снято'}")


@review.command("agreement")
@click.option("--since", type=DAY, default=None, help="Calls from this date.")
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
