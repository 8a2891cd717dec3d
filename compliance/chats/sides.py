"""Which side of a chat is the manager: named (the roster's ``chat_names``, ``--manager-name``), or guessed.

A guess scores each sender as the manager against the script (wording only: fast, and the wording is what
differs between a manager following a script and a client) and takes the best fit; the result says so with a
``chat_side_guessed`` message, so the reader knows to check it.
"""
from __future__ import annotations

from typing import Iterable, Optional

from compliance.history.roster import chat_name_key
from compliance.messages import Message
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Speaker, Transcript

from .model import Chat, chat_transcript


def _sides(chat: Chat, manager: Optional[str]) -> dict[str, Speaker]:
    return {s: ("manager" if s == manager else "client") for s in chat.senders}


def named_manager(chat: Chat, names: Iterable[str]) -> Optional[str]:
    """The sender of ``chat`` whose display name is one of ``names``, if any."""
    wanted = {chat_name_key(n) for n in names if n.strip()}
    return next((s for s in chat.senders if chat_name_key(s) in wanted), None)


def senders_named(senders: Iterable[str], given: str) -> list[str]:
    """The senders ``given`` names: the one whose name it is (chat names compare as ``chat_name_key``), else those
    whose name holds it (a part of a name: «Ольга» fits «Ольга Петрова» and «Ольга Иванова»), in order."""
    wanted = chat_name_key(given)
    if not wanted:
        return []
    shown = list(dict.fromkeys(senders))
    exact = [s for s in shown if chat_name_key(s) == wanted]
    return exact or [s for s in shown if wanted in chat_name_key(s)]


def _fit(chat: Chat, sender: str, script: SalesScript) -> float:
    """How well one sender's messages alone fit the script (wording only)."""
    from compliance.scoring.score import MatchOptions, score_call  # the scorer imports far more than a reader

    theirs = [s.model_copy(update={"speaker": "unknown"})
              for s, m in zip(chat_transcript(chat, {}).segments, chat.messages) if m.sender == sender]
    result = score_call(Transcript(segments=theirs), script, next(iter(script.levels)),
                        MatchOptions(meaning=False, min_words=0))
    return result.adherence or 0.0


def chat_with_sides(chat: Chat, names: Iterable[str] = (), script: Optional[SalesScript] = None) -> Transcript:
    """The chat as a transcript with the manager's side decided.

    Sides written in the file (``М:``/``К:``) are kept; else a sender named in ``names`` is the manager; else
    (with a ``script``) the sender whose messages fit the script best, marked as guessed; without a script the
    speakers stay unknown and the whole chat is scored, as for a mono recording.
    """
    if all(m.side for m in chat.messages):
        return chat_transcript(chat, {})
    manager = named_manager(chat, names)
    if manager is not None:
        return chat_transcript(chat, _sides(chat, manager))
    senders = chat.senders
    if script is None or not senders:
        return chat_transcript(chat, {})
    fits = sorted(((_fit(chat, s, script), s) for s in senders), key=lambda x: -x[0])
    best, manager = fits[0]
    transcript = chat_transcript(chat, _sides(chat, manager))
    other = fits[1][0] if len(fits) > 1 else 0.0
    transcript.note(Message(code="chat_side_guessed", params={"name": manager, "fit": round(best, 1),
                                                              "other": round(other, 1)}))
    return transcript
