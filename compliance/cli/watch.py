"""`compliance watch`: score recordings as they land in a folder (a share the PBX drops files into)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from compliance.cli.app import cli
from compliance.errors import ComplianceError

from .options import db_option, lang_option, resolve_team_path, team_option


@cli.command("watch")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@db_option
@team_option
@click.option("--script", "scripts", multiple=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--settle", type=click.FloatRange(min=0), default=10.0, show_default=True)
@click.option("--interval", type=click.FloatRange(min=0.05), default=5.0, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None)
@click.option("--once", is_flag=True)
@lang_option
def watch(folder: Path, db: Path, team_path: Optional[Path], scripts: tuple[Path, ...], settle: float,
          interval: float, workers: Optional[int], once: bool, lang: str) -> None:
    """Score new recordings as they land in FOLDER (each once it stops growing), until Ctrl-C.

    The folder is read as `compliance batch` reads it (MANAGER/DATE or DATE/MANAGER folders); calls already in the
    history are skipped, so a restart neither loses nor doubles a call.

    Example: compliance watch /mnt/pbx-recordings --db compliance.db --team team.yaml
    """
    from compliance.batch.models import BatchOptions
    from compliance.batch.run import run_batch
    from compliance.batch.stopping import leave_if_pool_killed, stop_on_signals
    from compliance.messages import Message
    from compliance.sources.watch import FolderWatch, watch_folder

    options = BatchOptions(folder=folder, db=db, team=resolve_team_path(team_path), scripts=list(scripts),
                           workers=workers)

    def score(files: list[Path]) -> None:
        try:
            summary = run_batch(options)
        except ComplianceError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(Message(code="watch_scored", params={
            "files": len(files), "analysed": summary.analysed, "skipped": summary.skipped,
            "failed": summary.failed}).text(lang))
        for failure in summary.failures:
            click.echo(f"  {failure.file}: {failure.reason}")

    click.echo(Message(code="watch_once" if once else "watch_start", params={"folder": str(folder)}).text(lang),
               err=True)
    try:
        with stop_on_signals():  # Ctrl-C, or `systemctl stop` (SIGTERM): the calls scored so far are all stored
            watch_folder(FolderWatch(folder, settle), score, interval=interval, once=once)
    except KeyboardInterrupt as exc:
        click.echo(Message(code="watch_stopped").text(lang), err=True)
        leave_if_pool_killed(exc, 0)
