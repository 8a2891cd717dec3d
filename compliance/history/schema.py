"""The rows the store returns; the tables themselves are made by ``migrations`` (re-exported here)."""
from __future__ import annotations

from typing import Any, Optional

from pydantic import BaseModel, Field

from .migrations import MIGRATIONS, Migration, _split_sql  # noqa: F401  (the store's and older imports' home)


class CallMeta(BaseModel):
    """What the store keeps about a call beyond its ``CallRecord``."""

    kind: str                                  # "audio" | "transcript" | "chat"
    phone: Optional[str] = None
    unknown_manager: bool = False
    script_choice: str = "default"             # manifest | roster | option | auto | default
    score_key: str                             # what the score depends on: script, level, manager, date
    transcribe_key: Optional[str] = None       # the transcription options (audio) or "text"
    attribution: dict[str, Any] = Field(default_factory=dict)
    # Identity (schema 6): where the call came from, apart from what it holds. None: the record's file and id.
    source_root: str = ""                      # the folder a batch walked ("" when saved outside a batch)
    source_key: Optional[str] = None           # the path under it, or ``chat:…`` for a chat (its id)
    content_hash: Optional[str] = None         # what it holds (the file's or the chat's messages' hash)


class CallState(BaseModel):
    """Enough of a stored call to decide whether a batch may skip it."""

    call_id: str
    file: str
    score_key: str
    transcribe_key: Optional[str] = None
    has_transcript: bool = False
    content_hash: Optional[str] = None
    source_root: str = ""
    source_key: Optional[str] = None


class Failure(BaseModel):
    """A file a batch could not analyse, and why."""

    file: str
    reason: str
    kind: str                                  # unreadable | unattributed | transcript | audio | score | folder | manifest
    batch_id: Optional[int] = None
    content_hash: Optional[str] = None
    at: Optional[str] = None
    resolved: bool = False


class BatchInfo(BaseModel):
    id: int
    started_at: str
    finished_at: Optional[str] = None
    folder: Optional[str] = None
    status: str                                # running | done | interrupted
    summary: dict[str, Any] = Field(default_factory=dict)


class ManagerRow(BaseModel):
    id: str
    name: str = ""
    level: str = "newcomer"
    since: Optional[str] = None
    known: bool = True


class DayCount(BaseModel):
    """Calls and chats of one manager on one day: each a contact when it connected (a chat: the client replied)."""

    manager: str
    date: str
    calls: int
    connected: int
    chats: int = 0
    chats_replied: int = 0
    dials: Optional[int] = None   # calls the manager dialled, as the PBX counts them (None: no PBX data that day)

    @property
    def contacts(self) -> int:
        """What the daily KPI counts: connected calls and chats the client replied in."""
        return self.connected + self.chats_replied


class DaySales(BaseModel):
    """The sales a manager reported for one day."""

    manager: str
    date: str
    sales_count: int = 0
    sales_sum: float = 0.0


def day_filter(alias: str, manager: Optional[str], since: Optional[str], until: Optional[str],
               *conditions: str) -> tuple[str, list[str]]:
    """A WHERE clause over a table's ``manager`` and ``date`` columns (``alias.`` before them when given): the
    fixed ``conditions`` and the bounds that are set. One home for the daily counts' filters."""
    col = f"{alias}." if alias else ""
    where, args = list(conditions), []
    for cond, value in ((f"{col}manager = ?", manager), (f"{col}date >= ?", since), (f"{col}date <= ?", until)):
        if value:
            where.append(cond)
            args.append(value)
    return " AND ".join(where), args
