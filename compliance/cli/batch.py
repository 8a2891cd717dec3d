"""`compliance batch`: a day's folder of recordings and transcripts into the history and reports."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any, Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError
from compliance.text.catalogue import current, text

from .options import DAY, db_option, resolve_team_path, team_option

OUTCOMES = ("analysed", "rescored", "skipped", "duplicate", "failed", "unattributed")


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
        self._show_step(text("cli.batch.step.looking", folder=_shown(str(folder))))

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
                                 MofNCompleteColumn(),
                                 TextColumn(text("cli.batch.bar.calls") + "{task.fields[audio]}{task.fields[eta]}"),
                                 console=self._console or Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task("batch", total=None, step=step, audio="", eta="")
        self._bar.update(self._task, step=step)
        self._bar.refresh()

    def __call__(self, p) -> None:
        if p.done == 0 and not p.planned:
            pass  # still reading the folder: the first step stays on screen
        elif p.done == 0:
            self._show_step(text("cli.batch.step.models" if p.audio_total else "cli.batch.step.scoring"))
        else:
            self._show_step(text("cli.batch.step.recognising" if p.audio_total else "cli.batch.step.scoring"))
        if not self.tty:
            if p.file:
                outcome = text(f"cli.batch.outcome.{p.outcome}") if p.outcome in OUTCOMES else p.outcome
                click.echo(f"{p.done}/{p.total} {outcome}: {p.file}", err=True)
            return
        audio = text("cli.batch.bar.audio", done=p.audio_done / 60, total=p.audio_total / 60) if p.audio_total else ""
        eta = text("cli.batch.bar.eta", clock=_clock(p.eta)) if p.eta is not None and p.done < p.total else ""
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
    click.echo(text("cli.batch.done", elapsed=s.elapsed, analysed=s.analysed, rescored=s.rescored, skipped=s.skipped,
                    not_connected=s.not_connected, failed=s.failed)
               + (text("cli.batch.duplicates", n=s.duplicates) if s.duplicates else ""))
    if s.failures:
        click.echo(text("cli.batch.failures"))
        for f in s.failures:
            click.echo(f"  {_shown(f.file)}: {f.reason}")
    if s.unknown_managers:
        click.echo(text("cli.batch.unknown_managers", names=", ".join(s.unknown_managers)))
    if s.kpi:
        click.echo(text("cli.batch.kpi"))
        for k in s.kpi:
            mark = text(f"cli.batch.kpi.{k.status}") + f" {k.target[0]}–{k.target[1]}"
            chats = text("cli.batch.kpi.chats", replied=k.chats_replied, chats=k.chats) if k.chats else ""
            click.echo(text("cli.batch.kpi.row", date=k.date, manager=k.manager_name or k.manager,
                            connected=k.connected, calls=k.calls, chats=chats, contacts=k.contacts, mark=mark))
    for note in s.notes:
        click.echo(text("cli.batch.note", note=note))
    if s.reports:
        click.echo(text("cli.reports", path=s.reports))
    if s.reports_error:
        click.echo(text("cli.batch.reports_error", error=s.reports_error), err=True)


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
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--script", "scripts", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@team_option
@db_option
@click.option("--workers", type=click.IntRange(min=1), default=None)
@click.option("--manifest", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--pattern", "patterns", multiple=True)
@click.option("--date", "default_date", type=DAY, default=None)
@click.option("--model", default=None)
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
@click.option("--compute-type", default=None)
@click.option("--threads", type=click.IntRange(min=0), default=0)
@click.option("--language", default=None)
@click.option("--manager-channel", type=click.Choice(["auto", "left", "right"]), default=None)
@click.option("--cache-dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--copy-audio", is_flag=True)
@click.option("--retry-failed", is_flag=True)
@click.option("--cluster", metavar="tcp://HOST:8786|local:N", callback=_check_cluster)
@click.option("--json", "as_json", is_flag=True)
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
        raise click.UsageError(text("cli.batch.db_in_out", db=db, out=out_dir))
    options = BatchOptions(
        folder=folder, db=db, scripts=list(scripts), team=resolve_team_path(team_path), manifest=manifest,
        patterns=list(patterns) or None, default_date=default_date.date().isoformat() if default_date else None,
        workers=workers, cache_dir=cache_dir, out_dir=out_dir, copy_audio=copy_audio, retry_failed=retry_failed,
        cluster=cluster, lang=current(),
        transcribe={"model": model, "device": device, "compute_type": compute_type, "threads": threads or None,
                    "language": language, "manager_channel": manager_channel},
    )
    from compliance.batch.stopping import leave_if_pool_killed, stop_on_signals
    progress = None if as_json else _Progress()
    try:
        with stop_on_signals():  # Ctrl-C and `kill`, systemd, a CI timeout alike
            if progress is not None:
                progress.start(folder)
            summary = run_batch(options, progress=progress)
    except ComplianceError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt as exc:
        if progress is not None:
            progress.close()
        click.echo("\n" + text("cli.batch.interrupted"), err=True)   # off the progress line first
        leave_if_pool_killed(exc, 130)
        sys.exit(130)
    if as_json:
        summary.write_json(lambda part: click.echo(part, nl=False))  # a file at a time, as the batch kept them
    else:
        _echo_summary(summary)
    sys.exit(summary.exit_code)
