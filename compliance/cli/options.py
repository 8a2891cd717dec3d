"""What several commands share: options, loading a script for a command, printing a scored call."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

from compliance.errors import ComplianceError, ScriptError
from compliance.resources import default_script_path
from compliance.scoring.choices import LEVELS  # the one list of levels
from compliance.text.catalogue import current, text

if TYPE_CHECKING:  # the command line starts without the models; a command imports what it uses
    from compliance.scoring.result import CallResult

from .localize import current_language


class DayType(click.ParamType):
    """A day as people type it: 2026-11-27, 27.11.2026, «сегодня», «вчера» (a ``datetime`` at midnight)."""

    name = "DAY"

    def convert(self, value, param, ctx):
        from compliance.text.dates import parse_day

        if isinstance(value, dt.datetime):
            return value
        day = parse_day(str(value))
        if day is None:
            self.fail(text("cli.day.bad", value=value), param, ctx)
        return dt.datetime.combine(day, dt.time())


DAY = DayType()


def lang_option(func):
    """``--lang`` of a command that writes for people (reports, pages, notes): the run's language by default."""
    return click.option("--lang", type=click.Choice(["ru", "en"]), default=current_language)(func)


def script_option(func):
    return click.option(
        "--script", "script_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    )(func)


def level_option(func):
    return click.option(
        "--level", type=click.Choice(LEVELS), default="newcomer", show_default=True,
    )(func)


def load_script_or_fail(path: Path | None):
    """Load a script for a command, turning problems into one ``Error:`` message."""
    from compliance.scoring.script_file import load_script

    try:
        return load_script(path or default_script_path())
    except ScriptError as exc:
        raise click.ClickException(str(exc)) from None


def _mark(ok: bool) -> str:
    return click.style("✓", fg="green") if ok else click.style("✗", fg="red")


def _when(result: CallResult, start: Optional[float]) -> str:
    """`` @12.5s`` into a call; a chat message's own clock time `` @10:03``."""
    if start is None:
        return ""
    if result.chat is not None and result.chat.started:
        from compliance.text.formats import message_time

        return f" @{message_time(result.chat.started, start)}"
    return f" @{start:.1f}s"


def _minutes(seconds: Optional[float]) -> str:
    if seconds is None:
        return "—"
    return text("cli.result.minutes", n=seconds / 60) if seconds < 3600 else text("cli.result.hours", n=seconds / 3600)


def _chat_line(result: CallResult) -> str:
    chat = result.chat
    assert chat is not None
    return (text("cli.result.chat", manager=chat.manager_messages, client=chat.client_messages,
                 first=_minutes(chat.first_response), wait=_minutes(chat.longest_wait))
            + (text("cli.result.chat_unanswered") if chat.unanswered else ""))


def _stage_lines(result: CallResult) -> list[str]:
    out: list[str] = []
    for stage in result.stages:
        if not stage.applies:
            state = text("cli.result.not_applicable" if stage.required else "cli.result.optional_not_said")
            out.append(f"  - {stage.id:<16} {state}")
            continue
        req = "" if stage.required else text("cli.result.optional")
        unsure = text("cli.result.uncertain") if stage.uncertain else ""
        out.append(f"  {_mark(stage.present)} {stage.id:<16} {stage.score:5.1f}  {stage.title}{req}{unsure}")
        for line in stage.lines:
            said = f" ← «{line.matched}»{_when(result, line.start)}" if line.matched else text("cli.result.not_found")
            how = text(f"cli.found.{line.found.value}") if line.found.value in FOUND else ""
            out.append(f"      {line.similarity:5.1f}  {line.text}{said}{f'  [{how}]' if how else ''}")
    return out


FOUND = ("verbatim", "meaning", "cue")


def format_result(result: CallResult) -> str:
    """The readable summary of a scored call, as ``score`` and ``analyze`` print it, in the run's language."""
    from compliance.messages import Message
    from compliance.scoring.band import band_why_key

    lang = current()
    out: list[str] = []
    head = result.file or "call"
    who = text("cli.result.manager", name=result.manager) if result.manager else ""
    level = text(f"cli.level.{result.level}") if result.level in LEVELS else result.level
    out.append(click.style(head, bold=True) + "  " + text("cli.result.head", who=who, script=result.script_id,
                                                          level=level))
    # A note a message code stands for is kept in Russian in ``notes`` (as recognition wrote it): said from its code in
    # the run's language instead; only notes no code stands for are shown as they are.
    coded = {m.text("ru") for m in result.messages}
    shown = [m.text(lang) for m in result.messages]
    free = [n for n in result.notes if n not in coded]
    for note in [*free, *(line for line in shown if line not in free)]:
        out.append(text("cli.result.note", note=note))
    if result.quality is not None:
        out.append(f"  {Message(code='quality_' + result.quality.rating).text(lang)}")
    if result.chat is not None:
        out.append(_chat_line(result))
    if not result.connected:
        what = text("cli.result.chat_not_scored" if result.channel == "chat" else "cli.result.call_not_scored")
        reason = result.not_connected.text(lang) if result.not_connected else result.not_connected_reason
        out.append(text("cli.result.not_connected", reason=reason, what=what))
        return "\n".join(out)
    out.extend(_stage_lines(result))
    for v in result.order_violations:
        out.append(text("cli.result.order", text=text("cli.result.order_before", stage=v.stage, before=v.before)))
    for hit in result.forbidden:
        out.append(text("cli.result.forbidden", grave=text("cli.result.critical") if hit.severity == "critical" else "",
                        phrase=hit.phrase, matched=hit.matched, when=_when(result, hit.start),
                        held=text("cli.result.held") if hit.uncertain else ""))
    reasons = [n.text(lang) for n in result.verdict_notes] if result.verdict_notes else result.verdict_reasons
    for reason in reasons:
        out.append(text("cli.result.verdict", reason=reason))
    structure = f"{result.structure:.0f} %" if result.structure is not None else "—"
    if not result.meaning_checked:
        structure += text("cli.result.meaning_unchecked")
    verdict = text(f"cli.verdict.{result.verdict}") if result.verdict else ""
    out.append(text("cli.result.summary", structure=structure, adherence=f"{result.adherence:.1f} %",
                    coverage=f"{result.coverage:.0f} %", level=level,
                    band=f"{result.band[0]:g}–{result.band[1]:g} %", verdict=verdict))
    why = band_why_key(result.channel, result.level)
    if why:
        out.append("  " + text(why))
    return "\n".join(out)


def echo_results(results: list[CallResult], as_json: bool) -> None:
    """Print results as a table, or one JSON object per line (with a ``file`` field)."""
    for i, result in enumerate(results):
        if as_json:
            click.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))
        else:
            if i:
                click.echo()
            click.echo(format_result(result))


DEFAULT_DB = Path("compliance.db")


DEFAULT_TEAM = Path("team.yaml")


def db_option(func):
    """``--db``: the history database."""
    return click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
                        show_default=True)(func)


def team_option(func):
    """``--team``: the roster file."""
    return click.option("--team", "team_path", type=click.Path(dir_okay=False, path_type=Path), default=None)(func)


def resolve_team_path(given: Optional[Path]) -> Optional[Path]:
    """The roster given, else ./team.yaml when there is one."""
    if given is not None:
        return given
    return DEFAULT_TEAM if DEFAULT_TEAM.is_file() else None


def open_store(db: Path, must_exist: bool = True, read_only: bool = True):
    """Open the history for a command (read-only unless the command writes), turning problems into one
    ``Error:`` line."""
    from compliance.history.store import Store

    if must_exist and not db.exists():
        raise click.ClickException(text("cli.store.none", db=db))
    try:
        return Store(db, read_only=read_only and db.exists())
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None


def load_team_or_fail(path: Optional[Path]):
    """Load the roster for a command (None without one), turning problems into one ``Error:`` line."""
    from compliance.history.roster import load_team

    if path is None:
        return None
    try:
        return load_team(path)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None


def at_terminal() -> bool:
    """A person is typing (a question can be asked), not a script or a pipe."""
    import sys

    return sys.stdin.isatty() and sys.stdout.isatty()


def pick_one(given: str, shown: list[str], kind: str) -> int:
    """Which of several matches of a partial name the user meant: at a terminal the matches are listed and one is
    asked for; otherwise (a script, a pipe) an error lists them, so nothing is guessed silently.

    Args:
        given: what was typed.
        shown: the matches as the user should read them.
        kind: what was looked for, the catalogue's ``cli.<kind>.which`` / ``cli.<kind>.ambiguous`` («manager»,
            «sender»).

    Returns:
        The index of the chosen match.
    """
    if at_terminal():
        for number, who in enumerate(shown, 1):
            click.echo(f"  {number}. {who}")
        return click.prompt(text(f"cli.{kind}.which", given=given, n=len(shown)),
                            type=click.IntRange(1, len(shown))) - 1
    raise click.ClickException(text(f"cli.{kind}.ambiguous", given=given, shown=", ".join(shown)))
