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

if TYPE_CHECKING:  # the command line starts without the models; a command imports what it uses
    from compliance.scoring.result import CallResult

LEVEL_WORDS = {"newcomer": "новичок", "experienced": "опытный"}


FOUND_WORDS = {"verbatim": "по скрипту", "meaning": "своими словами", "cue": "своими словами (маркер)"}


VERDICT_WORDS = {
    "below": "ниже коридора",
    "within": "в коридоре",
    "above": "выше коридора",
}


class DayType(click.ParamType):
    """A day as people type it: 2026-11-27, 27.11.2026, «сегодня», «вчера» (a ``datetime`` at midnight)."""

    name = "DAY"

    def convert(self, value, param, ctx):
        from compliance.text.dates import parse_day

        if isinstance(value, dt.datetime):
            return value
        day = parse_day(str(value))
        if day is None:
            self.fail(f"{value!r} is not a day: write 2026-11-27, 27.11.2026, «сегодня» or «вчера»", param, ctx)
        return dt.datetime.combine(day, dt.time())


DAY = DayType()


def script_option(func):
    return click.option(
        "--script", "script_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
        help="Sales script YAML (default: the bundled sales_call.ru.yaml).",
    )(func)


def level_option(func):
    return click.option(
        "--level", type=click.Choice(LEVELS), default="newcomer", show_default=True,
        help="The manager's level: sets the expected adherence band.",
    )(func)


def load_script_or_fail(path: Path | None):
    """Load a script for a command, turning problems into one ``Error:`` message."""
    from compliance.scoring.script import load_script

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
    return f"{seconds / 60:.0f} мин" if seconds < 3600 else f"{seconds / 3600:.1f} ч"


def _chat_line(result: CallResult) -> str:
    chat = result.chat
    assert chat is not None
    return (f"  переписка: сообщений менеджера {chat.manager_messages}, клиента {chat.client_messages}; первый ответ "
            f"менеджера: {_minutes(chat.first_response)}; самое долгое ожидание клиента: {_minutes(chat.longest_wait)}"
            + ("; последнее сообщение клиента без ответа" if chat.unanswered else ""))


def format_result(result: CallResult) -> str:
    """The readable summary of a scored call, as ``score`` and ``analyze`` print it."""
    from compliance.messages import Message

    out: list[str] = []
    head = result.file or "call"
    who = f"менеджер {result.manager}, " if result.manager else ""
    level = LEVEL_WORDS.get(result.level, result.level)
    out.append(click.style(head, bold=True) + f"  ({who}скрипт {result.script_id}, уровень: {level})")
    shown = [m.text("ru") for m in result.messages]
    for note in [*result.notes, *(text for text in shown if text not in result.notes)]:
        out.append(f"  примечание: {note}")
    if result.quality is not None:
        out.append(f"  {Message(code='quality_' + result.quality.rating).text('ru')}")
    if result.chat is not None:
        out.append(_chat_line(result))
    if not result.connected:
        what = "переписка не оценивается" if result.channel == "chat" else "звонок не оценивается"
        out.append(f"  НЕ СОСТОЯЛСЯ: {result.not_connected_reason} — {what}")
        return "\n".join(out)
    for stage in result.stages:
        if not stage.applies:
            state = "не применимо" if stage.required else "не звучал (необязательный)"
            out.append(f"  - {stage.id:<16} {state}")
            continue
        req = "" if stage.required else " (необязательный)"
        unsure = "  (неуверенно: проверьте)" if stage.uncertain else ""
        out.append(f"  {_mark(stage.present)} {stage.id:<16} {stage.score:5.1f}  {stage.title}{req}{unsure}")
        for line in stage.lines:
            when = _when(result, line.start)
            said = f" ← «{line.matched}»{when}" if line.matched else " ← не найдено"
            how = FOUND_WORDS.get(line.found.value, "")
            out.append(f"      {line.similarity:5.1f}  {line.text}{said}{f'  [{how}]' if how else ''}")
    for v in result.order_violations:
        out.append(f"  порядок: {v.message}")
    for hit in result.forbidden:
        when = _when(result, hit.start)
        grave = " (критическая)" if hit.severity == "critical" else ""
        held = "  (распознана неуверенно: не засчитана, проверьте)" if hit.uncertain else ""
        out.append(f"  запрещённая фраза{grave}: «{hit.phrase}» ← «{hit.matched}»{when}{held}")
    for reason in result.verdict_reasons:
        out.append(f"  вердикт: {reason}")
    band = f"{result.band[0]:g}–{result.band[1]:g} %"
    verdict = VERDICT_WORDS.get(result.verdict or "", "")
    structure = f"{result.structure:.0f} %" if result.structure is not None else "—"
    if not result.meaning_checked:
        structure += " (смысл не проверен)"
    out.append(
        f"  Структура (этапы по смыслу): {structure}   Соответствие скрипту: {result.adherence:.1f} % "
        f"(формулировки)   покрытие этапов: {result.coverage:.0f} %   коридор ({level}): {band} → {verdict}"
    )
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
                        show_default=True, help="History database (SQLite).")(func)


def team_option(func):
    """``--team``: the roster file."""
    return click.option("--team", "team_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
                        help="Team roster YAML (default: ./team.yaml when it exists).")(func)


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
        raise click.ClickException(f"{db}: no history yet; run `compliance batch FOLDER --db {db}` first")
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
