"""One call through the whole flow: read or transcribe it, pick its script, score it.

``analyse_file`` is what ``compliance analyze`` runs for each recording and what a batch worker runs for each
file, so a call is analysed the same way wherever it comes from::

    recording ─ speech.transcribe ─┐
    transcript file ─ scoring.transcript ─┴─ scoring.score.choose_script ─ scoring.score.score_call ─ CallResult
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

from compliance.errors import AudioError, ModelError, TranscriptError
from compliance.scoring.result import CallResult
from compliance.scoring.score import MatchOptions, choose_script, score_call
from compliance.scoring.script import BandTable, SalesScript
from compliance.scoring.transcript import Transcript, load_transcript
from compliance.text.catalogue import say

TRANSCRIPT_SUFFIXES = frozenset({".txt", ".json"})


@dataclass
class Analysis:
    """A call analysed: what was said, the script it was scored against, and the score."""

    transcript: Transcript
    script: SalesScript
    result: CallResult


def file_kind(path: Path) -> str:
    """``chat`` (a messenger export), ``transcript`` (a ``.txt``/``.json`` call transcript) or ``audio``."""
    if path.suffix.lower() not in TRANSCRIPT_SUFFIXES:
        return "audio"
    from compliance.chats import chat_format

    return "chat" if chat_format(path) else "transcript"


def read_call(path: Path, script_hint: SalesScript, *, kind: Optional[str] = None, transcribe: Any = None,
              model: Any = None, cache_dir: Optional[Path] = None, manager_names: Sequence[str] = (),
              part: Optional[str] = None, voice: Optional[list[float]] = None) -> Transcript:
    """The transcript of a file: a transcript file read as it is, a chat export read as messages, a recording
    transcribed (cached).

    Args:
        path: a recording, a ``.txt``/``.json`` transcript, or a chat export.
        script_hint: picks the manager's channel of a stereo recording, or the manager's side of a chat when
            ``manager_names`` name no sender.
        kind: ``audio``, ``transcript`` or ``chat``; by the file (``file_kind``) when not given.
        manager_names: the manager's display names in chats (the roster's ``chat_names``, ``--manager-name``).
        part: which chat of a many-chat export (its key; the first chat when not given).
        transcribe: ``TranscribeOptions`` for recordings (defaults when not given).
        model: a loaded speech model (loaded on a cache miss when not given).
        cache_dir: the transcript cache folder.
        voice: the manager's enrolled voice print: picks their party of a one-channel recording.

    Raises:
        TranscriptError, AudioError, ModelError: the file cannot be read or transcribed.
    """
    kind = kind or file_kind(path)
    if kind == "chat":
        from compliance.chats import load_chat

        return load_chat(path, part, manager_names, script_hint)
    if kind == "transcript":
        return load_transcript(path)
    from compliance.speech.transcribe import (
        transcribe_file,  # only recordings need the speech stack
    )

    return transcribe_file(path, transcribe, model=model, cache_dir=cache_dir, script=script_hint, voice=voice)


def read_calls(path: Path, script_hint: SalesScript, *, manager_names: Sequence[str] = ()) -> list[Transcript]:
    """Every conversation in a transcript or chat file: one, or one per chat of a many-chat export (each
    transcript's ``source`` then names its chat).

    Raises:
        TranscriptError: the file cannot be read.
    """
    if file_kind(path) != "chat":
        return [load_transcript(path)]
    from compliance.chats import chat_with_sides, read_chats

    transcripts = []
    for chat in read_chats(path):
        transcript = chat_with_sides(chat, manager_names, script_hint)
        if chat.several:
            transcript.source = f"{transcript.source} #{chat.title or chat.key}"
        transcripts.append(transcript)
    return transcripts


def analyse_file(path: Path, scripts: Sequence[SalesScript], level: str, *, kind: Optional[str] = None,
                 transcribe: Any = None, model: Any = None, cache_dir: Optional[Path] = None,
                 match: Optional[MatchOptions] = None, transcript: Optional[Transcript] = None,
                 manager_names: Sequence[str] = (), part: Optional[str] = None,
                 voice: Optional[list[float]] = None, bands: Optional[BandTable] = None) -> Analysis:
    """Analyse one call: read or transcribe it (unless its stored ``transcript`` is given), choose the script
    among ``scripts`` (the first one also picks a stereo recording's manager channel), and score it (by the
    team's ``bands`` where given, see ``SalesScript.band``).

    Raises:
        TranscriptError, AudioError, ModelError: the file cannot be read or transcribed.
        ScriptError: ``level`` is not a level of the chosen script.
    """
    if not scripts:
        raise ValueError(say("err.score.no_scripts"))
    if transcript is None:
        transcript = read_call(path, scripts[0], kind=kind, transcribe=transcribe, model=model, cache_dir=cache_dir,
                               manager_names=manager_names, part=part, voice=voice)
    script = scripts[0] if len(scripts) == 1 else choose_script(transcript, scripts)
    return Analysis(transcript, script, score_call(transcript, script, level, match, bands))


def failure_kind(exc: Exception, kind: str) -> str:
    """What a batch records a failure as: the recording, the transcript file, or scoring."""
    if isinstance(exc, (AudioError, ModelError)):
        return "audio"
    if isinstance(exc, TranscriptError):
        return "transcript" if kind in ("transcript", "chat") else "audio"
    return "score"
