"""`compliance score`: transcripts and chat exports against a script."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from compliance.errors import ComplianceError, NotTextError
from compliance.text.catalogue import text

from .app import cli
from .options import (
    echo_results,
    level_option,
    load_script_or_fail,
    load_team_or_fail,
    pick_one,
    resolve_team_path,
    script_option,
    team_option,
)


def _audio_suffixes() -> frozenset[str]:
    from compliance.speech.decode import AUDIO_EXTENSIONS

    return frozenset(AUDIO_EXTENSIONS)


def _full_names(path: Path, given: tuple[str, ...]) -> list[str]:
    """The ``--manager-name`` values as the chat's senders write them: a part of a name that fits one or several
    senders is listed and asked about (never guessed); a chat none of the names fits is an error.

    Raises:
        TranscriptError: the file is not a chat export, or no given name fits any of its senders.
    """
    from compliance.chats import read_chats, senders_named
    from compliance.errors import TranscriptError
    from compliance.history.roster import chat_name_key

    chats = read_chats(path)
    if not given or all(m.side for c in chats for m in c.messages):
        return list(given)
    senders = [s for c in chats for s in c.senders]
    out, fitted = [], False
    for name in given:
        found = senders_named(senders, name)
        fitted = fitted or bool(found)
        if len(found) == 1 and chat_name_key(found[0]) == chat_name_key(name):
            out.append(found[0])
        elif found:
            out.append(found[pick_one(name, found, "sender")])
    if not fitted:
        shown = ", ".join(dict.fromkeys(senders))
        raise TranscriptError(text("cli.sender.none", path=path, given=" / ".join(map(repr, given)), shown=shown))
    return out


@cli.command()
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(path_type=Path))
@script_option
@level_option
@team_option
@click.option("--manager-name", "manager_names", multiple=True)
@click.option("--json", "as_json", is_flag=True)
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
            click.echo(text("cli.error", message=text("cli.score.recording", path=path)), err=True)
            continue
        try:
            chat = file_kind(path) == "chat"
            script = scripts["chat" if chat else "call"]
            named = [*(_full_names(path, manager_names) if chat else manager_names), *names[len(manager_names):]]
            bands = roster.targets.bands if roster else None   # the team's bands, over the script's levels
            results = [score_call(t, script, level, bands=bands)
                       for t in read_calls(path, script, manager_names=named)]
        except ComplianceError as exc:
            failed = True
            not_text = not_text or isinstance(exc, NotTextError)
            click.echo(text("cli.error", message=exc), err=True)
            continue
        echo_results(results, as_json)
    if failed:
        sys.exit(2 if not_text else 1)   # a file that is not text at all was given in the wrong place: a usage error
