"""`compliance score`: transcripts and chat exports against a script."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError, NotTextError

from .app import cli
from .options import (
    echo_results,
    level_option,
    load_script_or_fail,
    load_team_or_fail,
    resolve_team_path,
    script_option,
    team_option,
)


def _audio_suffixes() -> frozenset[str]:
    from compliance.speech.decode import AUDIO_EXTENSIONS

    return frozenset(AUDIO_EXTENSIONS)


@cli.command()
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@script_option
@level_option
@team_option
@click.option("--manager-name", "manager_names", multiple=True,
              help="Chats: the manager's name as the messenger shows it (repeat for several). Default: the "
                   "roster's chat_names, else the side whose messages fit the script (marked as guessed).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per call or chat (JSON Lines).")
def score(transcripts: tuple[Path, ...], script_path: Path | None, level: str, team_path: Optional[Path],
          manager_names: tuple[str, ...], as_json: bool) -> None:
    """Score transcripts (.txt with М:/К: lines, or .json) and chat exports (Telegram result.json, WhatsApp
    .txt) against a sales script; chats use the bundled chat script unless --script is given.

    Example: compliance score call.txt result.json --level newcomer --manager-name "Ольга Петрова"
    """
    from compliance.pipeline import TRANSCRIPT_SUFFIXES, file_kind, read_calls
    from compliance.resources import default_script_path
    from compliance.scoring.score import score_call

    scripts = {kind: load_script_or_fail(script_path or default_script_path(kind)) for kind in ("call", "chat")}
    for script in scripts.values():
        script.band(level)
    roster = load_team_or_fail(resolve_team_path(team_path))
    names = [*manager_names, *(roster.chat_names() if roster else [])]
    failed = not_text = False
    for path in transcripts:
        if path.suffix.lower() not in TRANSCRIPT_SUFFIXES and path.suffix.lower() in _audio_suffixes():
            failed = True
            click.echo(f"Error: {path}: a recording, not a transcript; run `compliance analyze {path}`", err=True)
            continue
        try:
            script = scripts["chat" if file_kind(path) == "chat" else "call"]
            results = [score_call(t, script, level) for t in read_calls(path, script, manager_names=names)]
        except ComplianceError as exc:
            failed = True
            not_text = not_text or isinstance(exc, NotTextError)
            click.echo(f"Error: {exc}", err=True)
            continue
        echo_results(results, as_json)
    if failed:
        sys.exit(2 if not_text else 1)   # a file that is not text at all was given in the wrong place: a usage error
