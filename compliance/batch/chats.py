"""A chat export in a batch: one job per conversation, each dated by its own first message and attributed to
the roster manager whose chat name is among its senders.

A file with one chat is one call with the file's content hash as its id, like a transcript. A whole Telegram
export is one call per chat: the id is made from the file's hash and the chat's id, and the stored file name
gets ``#`` and the chat's id, so each chat is its own row and a new export of the same file replaces them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from compliance.chats import read_chats
from compliance.history.attribution import Attribution
from compliance.history.roster import Team


@dataclass
class ChatUnit:
    """One conversation of a chat file, as a batch plans it."""

    call_id: str
    att: Attribution
    part: Optional[str]             # the chat's key in a many-chat export; None for a one-chat file


def chat_units(path: Path, file_hash: str, att: Attribution, team: Optional[Team]) -> list[ChatUnit]:
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
        call_id = hashlib.sha256(f"{file_hash}#{chat.key}".encode()).hexdigest() if chat.several else file_hash
        units.append(ChatUnit(call_id=call_id, att=unit, part=chat.key if chat.several else None))
    return units


def chat_read_key(names: list[str]) -> str:
    """What a stored chat transcript depends on: the managers' chat names decide its sides."""
    return "chat:" + hashlib.sha256("\n".join(sorted(names)).encode()).hexdigest()[:12]
