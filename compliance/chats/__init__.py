"""Messenger chats as calls: Telegram and WhatsApp exports and dated ``М:``/``К:`` text become transcripts.

``read_chats`` reads a file's conversations, ``chat_with_sides`` decides which sender is the manager, and
``load_chat`` does both for one conversation of a file (what ``pipeline.read_call`` uses).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from compliance.errors import TranscriptError
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.text.catalogue import say

from .model import Chat, ChatMessage, chat_transcript
from .read import chat_format, read_chats
from .sides import chat_with_sides, named_manager, senders_named

__all__ = ["Chat", "ChatMessage", "chat_format", "chat_transcript", "chat_with_sides", "load_chat",
           "named_manager", "read_chats", "senders_named"]


def load_chat(path: Path, part: Optional[str] = None, names: Iterable[str] = (),
              script: Optional[SalesScript] = None) -> Transcript:
    """One conversation of a chat export as a transcript (``part``: its key in a many-chat export).

    Raises:
        TranscriptError: the file cannot be read as a chat, or has no chat ``part``.
    """
    chats = read_chats(path)
    chosen = next((c for c in chats if c.key == part), None) if part is not None else chats[0]
    if chosen is None:
        raise TranscriptError(say("err.chat.gone", path=path, part=repr(part)))
    return chat_with_sides(chosen, names, script)
