"""`compliance review`: the lead's overrides from the command line, and machine-vs-lead agreement."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError
from compliance.text.catalogue import text

from .app import cli
from .options import DAY, db_option, open_store


@cli.group()
def review() -> None:
    """Correct the machine and see where it is weak.

    Example: compliance review agreement --since 2026-11-01
    """


@review.command("override")
@click.argument("call_id")
@click.argument("stage_id")
@click.option("--present/--absent", default=None, required=True)
@click.option("--line", type=click.IntRange(min=1), default=None)
@click.option("--by", "by", required=True)
@click.option("--note", default="")
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
    branch = stage is not None and stage.excludes and line is None
    said = text(("cli.review.branch_taken" if present else "cli.review.branch_not_taken") if branch else
                ("cli.review.present" if present else "cli.review.absent"))
    verdict = text(f"cli.verdict.{record.result.verdict}") if record.result.verdict else ""
    click.echo(text("cli.review.overridden", call=record.call_id, stage=stage_id, said=said,
                    adherence=record.result.adherence, machine=machine, coverage=record.result.coverage,
                    verdict=f", {verdict}" if verdict else ""))


@review.command("decision")
@click.argument("call_id")
@click.argument("stage_id")
@click.option("--confirm/--drop", "confirm", default=None, required=True)
@click.option("--line-id", default=None)
@click.option("--by", "by", required=True)
@click.option("--note", default="")
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
               f"{text('cli.review.confirmed' if confirm else 'cli.review.dropped')}")


@review.command("agreement")
@click.option("--since", type=DAY, default=None)
@click.option("--json", "as_json", is_flag=True)
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
    click.echo(text("cli.review.agreement", calls=report.calls_reviewed, reviewed=o.reviewed, overridden=o.overridden,
                    agreement=_share(o.agreement), kappa=_kappa(o.kappa)))
    for a in report.stages:
        click.echo(text("cli.review.agreement.stage", key=a.key, overridden=a.overridden, reviewed=a.reviewed,
                        agreement=_share(a.agreement), kappa=_kappa(a.kappa)))
    for a in report.lines:
        click.echo(text("cli.review.agreement.line", key=a.key, overridden=a.overridden, reviewed=a.reviewed,
                        title=a.title))


def _share(value: Optional[float]) -> str:
    return "—" if value is None else f"{value * 100:.0f} %"


def _kappa(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:.2f}"
