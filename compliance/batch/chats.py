"""A chat export in a batch: one job per conversation, each dated by its own first message and attributed to
the roster manager whose chat name is among its senders.

A Telegram or WhatsApp chat is identified by its chat id (Telegram's id, WhatsApp's chat name) and who wrote
first — Telegram gives a personal chat the client's id, the same in every manager's export, and a re-export only
adds messages after the first — so a chat exported again with more messages updates the same call (counted once).
Its content hash is that of its messages. A whole Telegram export is one call per chat; the stored file name gets
``#`` and the chat's id. A dated ``М:``/``К:`` text has no chat id: it is identified by its path, like a transcript.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from compliance.chats import read_chats
from compliance.history.attribution import Attribution
from compliance.history.roster import Team


@dataclass
class ChatUnit:
    """One conversation of a chat file, as a batch plans it."""

    content_hash: str               # what the call holds: the file's hash, or the chat's messages' hash
    att: Attribution
    part: Optional[str]             # the chat's key in a many-chat export; None for a one-chat file
    chat_key: Optional[str] = None  # ``chat:…``: the chat's own identity, apart from the file it came in
    size: int = 0                   # messages: of two exports of one chat, the one with more counts


def chat_units(path: Path, att: Attribution, team: Optional[Team]) -> list[ChatUnit]:
    """The conversations of a chat export with their ids and attribution.

    The date and time are the chat's first message (unless a manifest gives the date); the manager is the roster
    manager whose ``chat_names`` wrote in the chat (unless a manifest names one), else the folder's or file's.

    Raises:
        TranscriptError: the file is not a readable chat export.
    """
    units = []
    for chat in read_chats(path):
        unit = att.model_copy(deep=True)
        if chat.started is not None and unit.sources.get("date") != "manifest":
            unit.date, unit.time = chat.started.date().isoformat(), chat.started.strftime("%H:%M:%S")
            unit.sources.update(date="chat", time="chat")
        owner = team.by_chat_name(chat.senders) if team else None
        if owner is not None and unit.sources.get("manager") != "manifest":
            unit.manager, unit.sources["manager"] = owner.id, "chat"
        messages = [m.model_dump(mode="json") for m in chat.messages]
        content = hashlib.sha256(json.dumps(messages, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
        first = chat.senders[0] if chat.senders else ""
        key = f"chat:{chat.fmt}:{chat.key}:{first}" if chat.fmt in ("telegram", "whatsapp") else None
        units.append(ChatUnit(content_hash=content, att=unit, part=chat.key if chat.several else None, chat_key=key,
                              size=len(chat.messages)))
    return units


def chat_read_key(names: list[str]) -> str:
    """What a stored chat transcript depends on: the managers' chat names decide its sides."""
    return "chat:" + hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:12]
