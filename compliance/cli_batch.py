"""Commands: batch, team, readiness, daily, export (registered on the main group)."""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Optional

import click

from .cli import cli
from .errors import ComplianceError

DEFAULT_DB = Path("compliance.db")
DEFAULT_TEAM = Path("team.yaml")
VERDICT_RU = {"below": "ниже коридора", "within": "в коридоре", "above": "выше коридора", None: ""}
OUTCOME_RU = {"analysed": "проанализирован", "rescored": "пересчитан", "skipped": "без изменений",
              "duplicate": "дубликат", "failed": "ошибка", "unattributed": "не определён менеджер/дата"}


# Shared by the history commands here and by `compliance report` (cli_report.py).

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


def open_store(db: Path, must_exist: bool = True):
    """Open the history for a command, turning problems into one ``Error:`` line."""
    from .store import Store

    if must_exist and not db.exists():
        raise click.ClickException(f"{db}: no history yet; run `compliance batch FOLDER --db {db}` first")
    try:
        return Store(db)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None


def load_team_or_fail(path: Optional[Path]):
    """Load the roster for a command (None without one), turning problems into one ``Error:`` line."""
    from .team import load_team

    if path is None:
        return None
    try:
        return load_team(path)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None


# ----------------------------------------------------------------------------------------------------
# batch


class _Progress:
    """A one-line progress bar on a terminal, plain lines otherwise (both on stderr)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.width = 0

    def __call__(self, p) -> None:
        if self.tty:
            filled = int(24 * p.done / p.total) if p.total else 24
            audio = f" · аудио {p.audio_done / 60:.1f}/{p.audio_total / 60:.1f} мин" if p.audio_total else ""
            eta = f" · осталось ~{_clock(p.eta)}" if p.eta is not None and p.done < p.total else ""
            line = f"[{'#' * filled}{'.' * (24 - filled)}] {p.done}/{p.total} звонков{audio}{eta}"
            pad = max(0, self.width - len(line))
            self.width = len(line)
            click.echo("\r" + line + " " * pad, err=True, nl=False)
            if p.done == p.total:
                click.echo("", err=True)
        elif p.file:
            click.echo(f"{p.done}/{p.total} {OUTCOME_RU.get(p.outcome, p.outcome)}: {p.file}", err=True)


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


def _shown(path: str) -> str:
    """A path relative to the current folder when it is under it (shorter to read)."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


def _echo_summary(summary) -> None:
    s = summary
    click.echo(
        f"Готово за {s.elapsed:.1f} с: проанализировано {s.analysed}, пересчитано {s.rescored}, "
        f"без изменений {s.skipped}, не дозвонились {s.not_connected}, ошибок {s.failed}"
        + (f", дубликатов {s.duplicates}" if s.duplicates else "")
    )
    if s.failures:
        click.echo("Не обработаны:")
        for f in s.failures:
            click.echo(f"  {_shown(f.file)}: {f.reason}")
    if s.unknown_managers:
        click.echo("Нет в составе команды (оценены как новички): " + ", ".join(s.unknown_managers))
    if s.kpi:
        click.echo("Дозвоны за день (цель 30–40):")
        for k in s.kpi:
            mark = {"below": "ниже цели", "within": "в цели", "above": "выше цели"}[k.status]
            click.echo(f"  {k.date}  {k.manager_name or k.manager:<20} {k.connected:>3} из {k.calls:<3} {mark}")
    for note in s.notes:
        click.echo(f"Примечание: {note}")
    if s.reports:
        click.echo(f"Отчёты: {s.reports}")
    if s.reports_error:
        click.echo(f"Отчёты не записаны: {s.reports_error}", err=True)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the HTML reports here after the batch.")
@click.option("--script", "scripts", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Sales script YAML; repeat for several (each call gets the best-matching one). "
                   "Default: the bundled script.")
@team_option
@db_option
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Transcription processes (default: one per core).")
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="CSV with file,manager,date[,script,level] rows; wins over folders and names.")
@click.option("--pattern", "patterns", multiple=True,
              help="Filename regex with named groups manager, date, time, phone (repeatable). "
                   "Default covers names like 2026-11-27_10-31-02_ivanova_380991234567.mp3.")
@click.option("--date", "default_date", default=None,
              help="Date (YYYY-MM-DD) for files whose date is nowhere in the manifest, folders or name.")
@click.option("--model", default=None,
              help="Whisper model: a faster-whisper size name, a hub id, or a local CTranslate2 folder "
                   "(default: the bundled base model).")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None,
              help="auto (default): CUDA when a GPU is present, else CPU.")
@click.option("--compute-type", default=None, help="auto (default): float16 on CUDA, int8 on CPU.")
@click.option("--threads", type=click.IntRange(min=0), default=0,
              help="CPU threads per worker (0: cores / workers).")
@click.option("--language", default=None, help="Language of the calls (default: ru).")
@click.option("--manager-channel", type=click.Choice(["auto", "left", "right"]), default=None,
              help="Stereo: the manager's channel (default auto: the one closer to the script).")
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Transcript cache folder (default: ~/.cache/call-compliance/transcripts).")
@click.option("--copy-audio", is_flag=True,
              help="With --out: copy the recordings into each manager's report folder.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def batch(folder: Path, out_dir: Optional[Path], scripts: tuple[Path, ...], team_path: Optional[Path], db: Path,
          workers: Optional[int], manifest: Optional[Path], patterns: tuple[str, ...], default_date: Optional[str],
          model: Optional[str], device: Optional[str], compute_type: Optional[str], threads: int,
          language: Optional[str], manager_channel: Optional[str], cache_dir: Optional[Path], copy_audio: bool,
          as_json: bool) -> None:
    """Analyse every recording and transcript under FOLDER (recursively) into the history.

    Manager and date come from --manifest, else the folders (DATE/MANAGER/… or MANAGER/DATE/…),
    else the file name. Unchanged files are skipped; after a script edit calls are re-scored from
    stored transcripts. Safe to interrupt and rerun. Exit status: 0 all analysed, 3 some files
    failed (listed), 1 a bad option.

    Example: compliance batch samples/day --team samples/team.yaml --out reports
    """
    from .attribution import parse_date
    from .batch import BatchOptions, run_batch

    if default_date and not parse_date(default_date):
        raise click.UsageError(f"--date {default_date!r} is not a date (use YYYY-MM-DD)")
    if out_dir and Path(db).absolute().is_relative_to(out_dir.absolute()):
        raise click.UsageError(f"--db {db}: the history database cannot live inside the report folder --out "
                               f"{out_dir} (it is replaced on every run); use e.g. --db compliance.db")
    options = BatchOptions(
        folder=folder, db=db, scripts=list(scripts), team=resolve_team_path(team_path), manifest=manifest,
        patterns=list(patterns) or None, default_date=parse_date(default_date) if default_date else None,
        workers=workers, cache_dir=cache_dir, out_dir=out_dir, copy_audio=copy_audio,
        transcribe={"model": model, "device": device, "compute_type": compute_type, "threads": threads or None,
                    "language": language, "manager_channel": manager_channel},
    )
    try:
        summary = run_batch(options, progress=None if as_json else _Progress())
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt as exc:
        click.echo("\nПрервано. Готовые звонки сохранены; запустите ту же команду ещё раз, чтобы продолжить.",
                   err=True)
        if getattr(exc, "pool_terminated", False):
            # The killed workers' pool cannot be joined (see batch._terminate): leave now, nothing is unsaved.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        sys.exit(130)
    if as_json:
        click.echo(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=1))
    else:
        _echo_summary(summary)
    sys.exit(summary.exit_code)


# ----------------------------------------------------------------------------------------------------
# team


@cli.group()
def team() -> None:
    """The team roster: managers, their level (newcomer / experienced) and since when."""


@team.command("list")
@team_option
@click.option("--db", "db", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_DB,
              show_default=True, help="History database: also lists managers seen there but not in the roster.")
def team_list(team_path: Optional[Path], db: Path) -> None:
    """List the managers of the roster (and unknown ones found in the history).

    Example: compliance team list --team samples/team.yaml
    """
    path = resolve_team_path(team_path)
    roster = load_team_or_fail(path)
    if roster is None and not db.exists():
        raise click.ClickException("no roster: pass --team team.yaml (see samples/team.yaml)")
    rows = []
    if roster:
        for key, m in roster.managers.items():
            rows.append((key, m.name, m.level, m.since.isoformat() if m.since else "", m.script or "", ""))
    if db.exists():
        with open_store(db) as store:
            listed = {r[0] for r in rows}
            for m in store.managers():
                if m.id not in listed and not (roster and roster.get(m.id)):
                    rows.append((m.id, m.name, "newcomer", "", "", "нет в составе"))
    click.echo(f"{'менеджер':<14} {'имя':<22} {'уровень':<12} {'с':<11} {'скрипт':<14} примечание")
    for key, name, level, since, script, note in rows:
        click.echo(f"{key:<14} {name:<22} {level:<12} {since:<11} {script:<14} {note}".rstrip())


@team.command("set-level")
@click.argument("manager")
@click.argument("level", type=click.Choice(["newcomer", "experienced"]))
@team_option
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Date of the change (default: today).")
@click.option("--name", default=None, help="Display name; with it an unknown manager is added.")
def team_set_level(manager: str, level: str, team_path: Optional[Path], since: Optional[dt.datetime],
                   name: Optional[str]) -> None:
    """Set a manager's level in the roster (e.g. after promotion to the general structure).

    Example: compliance team set-level ivanova experienced --team samples/team.yaml
    """
    from .team import set_level

    path = team_path or DEFAULT_TEAM
    try:
        m = set_level(path, manager, level, since=since.date() if since else None, name=name,
                      create=name is not None)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{m.id}: {m.level} с {m.since}  ({path})")


# ----------------------------------------------------------------------------------------------------
# readiness, daily, export


def _format_readiness(r) -> str:
    who = f"{r.manager_name} ({r.manager})" if r.manager_name else r.manager
    if r.level == "newcomer":
        state = {True: "ГОТОВ к общей структуре", False: "пока не готов", None: "недостаточно данных"}[r.ready]
    else:
        state = "на проверку" if r.flagged_for_review else "в норме"
    mean = f"{r.mean_adherence:.1f} %" if r.mean_adherence is not None else "—"
    lines = [f"{who} — {r.level}: {state}",
             f"  звонков в окне: {r.calls_considered} из {r.window}; в коридоре: {r.share_in_band * 100:.0f} %; "
             f"среднее соответствие: {mean}"]
    if r.stage_presence:
        weakest = ", ".join(f"{s} {r.stage_presence[s] * 100:.0f} %" for s in r.weakest_stages)
        lines.append(f"  слабые этапы: {weakest}")
    for reason in r.reasons:
        lines.append(f"  - {reason}")
    return "\n".join(lines)


@cli.command()
@click.argument("manager", required=False)
@db_option
@team_option
@click.option("--window", type=click.IntRange(min=1), default=20, show_default=True,
              help="Last N connected calls to judge on.")
@click.option("--min-share", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="Share of calls that must meet the band.")
@click.option("--min-stage-presence", type=click.FloatRange(0, 1), default=0.9, show_default=True,
              help="Share of calls in which every required stage must be present.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per manager.")
def readiness(manager: Optional[str], db: Path, team_path: Optional[Path], window: int, min_share: float,
              min_stage_presence: float, as_json: bool) -> None:
    """Who is ready for the general structure; which experienced managers need a review.

    Example: compliance readiness ivanova --team samples/team.yaml
    """
    from .batch import team_readiness
    from .team import normalize_manager_key

    roster = load_team_or_fail(resolve_team_path(team_path))
    with open_store(db) as store:
        key = normalize_manager_key(manager) if manager else None
        if key and not (roster and roster.get(key)) and not store.calls(manager=key, with_transcripts=False):
            raise click.ClickException(f"no manager {manager!r} in the roster or the history")
        results = team_readiness(store, roster, key, window=window, min_share=min_share,
                                 min_stage_presence=min_stage_presence)
    for i, r in enumerate(results.values()):
        if as_json:
            click.echo(json.dumps(r.model_dump(mode="json"), ensure_ascii=False))
        else:
            click.echo(("\n" if i else "") + _format_readiness(r))


@cli.command()
@click.argument("manager")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day (default: today).")
@click.option("--sales-sum", type=click.FloatRange(min=0), default=0, help="Sales sum, грн.")
@click.option("--sales-count", type=click.IntRange(min=0), default=0, help="Number of sales.")
@db_option
def daily(manager: str, day: Optional[dt.datetime], sales_sum: float, sales_count: int, db: Path) -> None:
    """Print the manager's daily report; connected calls are counted from the recordings.

    Example: compliance daily ivanova --date 2026-11-27 --sales-sum 15000 --sales-count 2
    """
    from .history import daily_report
    from .team import normalize_manager_key

    with open_store(db) as store:
        report = daily_report(store, normalize_manager_key(manager), day.date() if day else None,
                              sales_sum=sales_sum, sales_count=sales_count)
    click.echo(report.text())


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="From this date.")
@click.option("--until", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Up to this date.")
@click.option("--manager", default=None, help="Only this manager.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file (default: standard output).")
@db_option
def export(fmt: str, since: Optional[dt.datetime], until: Optional[dt.datetime], manager: Optional[str],
           output: Optional[Path], db: Path) -> None:
    """Export stored calls, one row per call (CSV is UTF-8 with BOM: paste/import into Google Sheets).

    Example: compliance export --format csv --since 2026-11-01 -o calls.csv
    """
    from .history import render_export
    from .team import normalize_manager_key

    with open_store(db) as store:
        records = store.calls(since=since.date() if since else None, until=until.date() if until else None,
                              manager=normalize_manager_key(manager) if manager else None, with_transcripts=False)
    text = render_export(records, fmt)
    data = (("\ufeff" if fmt == "csv" else "") + text).encode("utf-8")
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    _write_atomic(output, data)
    click.echo(f"{len(records)} звонков → {output}", err=True)


def _write_atomic(path: Path, data: bytes) -> None:
    import os
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
