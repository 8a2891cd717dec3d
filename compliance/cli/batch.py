"""`compliance batch`: a day's folder of recordings and transcripts into the history and reports."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any, Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError

from .options import DAY, db_option, resolve_team_path, team_option

OUTCOME_RU = {"analysed": "проанализирован", "rescored": "пересчитан", "skipped": "без изменений",
              "duplicate": "дубликат", "failed": "ошибка", "unattributed": "не определён менеджер/дата"}


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


class _Progress:
    """Batch progress on stderr, from the first second: a live rich bar on a terminal with the step being done
    (looking for files, loading the models, recognising and scoring), the calls and audio done and the ETA; one
    plain line per step and per file when piped (so a log or a CI job reads it). rich, because a live line that
    survives other output and terminal resizing is its job, not ours."""

    def __init__(self, console: Any = None) -> None:
        self.tty = sys.stderr.isatty() if console is None else True
        self._console = console
        self._bar: Any = None
        self._task: Any = None
        self._step = ""

    def start(self, folder: Path) -> None:
        """Show the first step at once: the folder is being read (planning can take a few seconds)."""
        self._show_step(f"поиск записей и расшифровок в {_shown(str(folder))}")

    def _show_step(self, step: str) -> None:
        if step == self._step:
            return
        self._step = step
        if not self.tty:
            click.echo(f"— {step}…", err=True)
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

            self._bar = Progress(SpinnerColumn(), TextColumn("{task.fields[step]}"), BarColumn(bar_width=24),
                                 MofNCompleteColumn(), TextColumn("звонков{task.fields[audio]}{task.fields[eta]}"),
                                 console=self._console or Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task("batch", total=None, step=step, audio="", eta="")
        self._bar.update(self._task, step=step)
        self._bar.refresh()

    def __call__(self, p) -> None:
        if p.done == 0:
            self._show_step("загрузка моделей распознавания и смысла" if p.audio_total else "оценка расшифровок")
        else:
            self._show_step("распознавание и оценка" if p.audio_total else "оценка расшифровок")
        if not self.tty:
            if p.file:
                click.echo(f"{p.done}/{p.total} {OUTCOME_RU.get(p.outcome, p.outcome)}: {p.file}", err=True)
            return
        audio = f" · аудио {p.audio_done / 60:.1f}/{p.audio_total / 60:.1f} мин" if p.audio_total else ""
        eta = f" · осталось ~{_clock(p.eta)}" if p.eta is not None and p.done < p.total else ""
        self._bar.update(self._task, completed=p.done, total=p.total, audio=audio, eta=eta)
        self._bar.refresh()  # one event a file: show it now rather than at the next tick
        if p.done >= p.total:
            self.close()

    def close(self) -> None:
        """Stop the live bar (also when the batch stops early), leaving its last state on screen."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


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
        click.echo("Контакты за день: дозвоны + переписки с ответом клиента, цель из team.yaml (targets:):")
        for k in s.kpi:
            mark = {"below": "ниже цели", "within": "в цели", "above": "выше цели"}[k.status] + f" {k.target[0]}–{k.target[1]}"
            chats = f" + переписок {k.chats_replied} из {k.chats:<3}" if k.chats else ""
            click.echo(f"  {k.date}  {k.manager_name or k.manager:<20} дозвонов {k.connected:>3} из {k.calls:<3}"
                       f"{chats} = {k.contacts:>3}  {mark}")
    for note in s.notes:
        click.echo(f"Примечание: {note}")
    if s.reports:
        click.echo(f"Отчёты: {s.reports}")
    if s.reports_error:
        click.echo(f"Отчёты не записаны: {s.reports_error}", err=True)


def _check_cluster(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """A bad --cluster is a usage error (exit 2), found before anything is opened."""
    from compliance.batch.cluster import parse_cluster

    if value is not None:
        try:
            parse_cluster(value)
        except ComplianceError as exc:
            raise click.BadParameter(str(exc).removeprefix(f"--cluster {value.strip()}: ")) from None
    return value


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
@click.option("--date", "default_date", type=DAY, default=None,
              help="Date (2026-11-27, 27.11.2026, «вчера») for files whose date is nowhere in the manifest, "
                   "folders or name.")
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
@click.option("--retry-failed", is_flag=True,
              help="Try again files that failed before and have not changed (by default they are listed, not retried).")
@click.option("--cluster", metavar="tcp://HOST:8786|local:N", callback=_check_cluster,
              help="Transcribe on a Dask cluster: a running scheduler's address, or local:N worker processes "
                   '(needs pip install "call-compliance[cluster]"). Results are stored here as they arrive.')
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def batch(folder: Path, out_dir: Optional[Path], scripts: tuple[Path, ...], team_path: Optional[Path], db: Path,
          workers: Optional[int], manifest: Optional[Path], patterns: tuple[str, ...], default_date: Optional[dt.datetime],
          model: Optional[str], device: Optional[str], compute_type: Optional[str], threads: int,
          language: Optional[str], manager_channel: Optional[str], cache_dir: Optional[Path], copy_audio: bool,
          retry_failed: bool, cluster: Optional[str], as_json: bool) -> None:
    """Analyse every recording and transcript under FOLDER (recursively) into the history.

    Manager and date come from --manifest, else the folders (DATE/MANAGER/… or MANAGER/DATE/…),
    else the file name. Unchanged files are skipped; after a script edit calls are re-scored from
    stored transcripts. Safe to interrupt and rerun. Exit status: 0 all analysed, 3 some files
    failed (listed), 1 a bad option.

    Example: compliance batch samples/day --team samples/team.yaml --out reports

    Many machines: compliance batch calls/ --cluster tcp://10.0.0.5:8786 (see README, "Capacity").
    """
    from compliance.batch.run import BatchOptions, run_batch
    if out_dir and Path(db).absolute().is_relative_to(out_dir.absolute()):
        raise click.UsageError(f"--db {db}: the history database cannot live inside the report folder --out "
                               f"{out_dir} (it is replaced on every run); use e.g. --db compliance.db")
    options = BatchOptions(
        folder=folder, db=db, scripts=list(scripts), team=resolve_team_path(team_path), manifest=manifest,
        patterns=list(patterns) or None, default_date=default_date.date().isoformat() if default_date else None,
        workers=workers, cache_dir=cache_dir, out_dir=out_dir, copy_audio=copy_audio, retry_failed=retry_failed,
        cluster=cluster,
        transcribe={"model": model, "device": device, "compute_type": compute_type, "threads": threads or None,
                    "language": language, "manager_channel": manager_channel},
    )
    progress = None if as_json else _Progress()
    previous = signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill`, systemd, a CI timeout: like Ctrl-C
    try:
        if progress is not None:
            progress.start(folder)
        summary = run_batch(options, progress=progress)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt as exc:
        if progress is not None:
            progress.close()
        click.echo("\nПрервано. Готовые звонки сохранены; запустите ту же команду ещё раз, чтобы продолжить.",
                   err=True)
        if getattr(exc, "pool_terminated", False):
            # The killed workers' pool cannot be joined (see batch._terminate): leave now, nothing is unsaved.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        sys.exit(130)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        click.echo(json.dumps(summary.model_dump(mode="json"), ensure_ascii=False, indent=1))
    else:
        _echo_summary(summary)
    sys.exit(summary.exit_code)
