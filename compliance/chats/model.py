"""A messenger conversation as read from an export, and the ``Transcript`` it becomes once sides are known.

Every reader (Telegram, WhatsApp, dated ``М:``/``К:`` text) gives ``Chat`` objects: who wrote what and when.
Which sender is the manager is decided later (``chats.sides``); then ``chat_transcript`` turns the chat into a
``Transcript`` of kind ``chat`` whose turns are the messages, each with its offset from the chat's start (what
evidence points to) and its own date and time, so the scorers and the reports work on it unchanged.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import BaseModel, Field

from compliance.scoring.transcript import ChatMetrics, Segment, Speaker, Transcript


class ChatMessage(BaseModel):
    """One message: its sender's display name (or a side, for ``М:``/``К:`` text), text and time."""

    sender: str
    text: str = ""
    at: dt.datetime
    media: Optional[str] = None          # what was attached instead of (or with) text: photo, voice, file …
    side: Optional[Speaker] = None       # known from the file itself (``М:``/``К:``), else None

    @property
    def shown(self) -> str:
        """The text as a turn shows it; an attachment without text reads ``[photo]``."""
        if self.media and not self.text.strip():
            return f"[{self.media}]"
        return f"{self.text} [{self.media}]" if self.media else self.text


class Chat(BaseModel):
    """One conversation of an export."""

    key: str                             # stable within its file: Telegram's chat id, else the chat's name
    title: str = ""
    source: str = ""                     # the file it was read from, as shown
    fmt: str                             # telegram | whatsapp | text
    messages: list[ChatMessage] = Field(default_factory=list)
    several: bool = False                # the file holds more chats than this one (a whole Telegram export)

    @property
    def senders(self) -> list[str]:
        """Who wrote, in order of first message."""
        seen: list[str] = []
        for m in self.messages:
            if m.sender and m.sender not in seen:
                seen.append(m.sender)
        return seen

    @property
    def started(self) -> Optional[dt.datetime]:
        return self.messages[0].at if self.messages else None


def chat_transcript(chat: Chat, sides: dict[str, Speaker]) -> Transcript:
    """The chat as a transcript: one turn per message, ``sides`` maps each sender to manager or client."""
    start = chat.started
    segments = []
    for m in chat.messages:
        offset = (m.at - start).total_seconds() if start else 0.0
        segments.append(Segment(text=m.shown, speaker=m.side or sides.get(m.sender, "unknown"), start=offset,
                                end=offset, at=m.at.isoformat(timespec="seconds")))
    duration = segments[-1].start if segments else None
    transcript = Transcript(segments=segments, source=chat.source, duration=duration, kind="chat",
                            language="ru")
    transcript.chat = chat_metrics(transcript)
    transcript.chat.started = start.isoformat(timespec="seconds") if start else None
    return transcript


def chat_metrics(transcript: Transcript) -> ChatMetrics:
    """The manager's first-response time and the client's longest wait, from the turns' times.

    A client's wait runs from the first of their messages since the manager last wrote to the manager's next
    message; the first response is the first such wait (n/a when the manager wrote first).
    """
    metrics = ChatMetrics()
    waiting_since: Optional[float] = None
    waits: list[float] = []
    for i, seg in enumerate(transcript.segments):
        at = seg.start or 0.0
        if seg.speaker == "client":
            metrics.client_messages += 1
            if waiting_since is None:
                waiting_since = at
        elif seg.speaker == "manager":
            metrics.manager_messages += 1
            if waiting_since is not None:
                waits.append(at - waiting_since)
                if len(waits) == 1 and not any(s.speaker == "manager" for s in transcript.segments[:i]):
                    metrics.first_response = at - waiting_since
                waiting_since = None
    metrics.longest_wait = max(waits) if waits else None
    metrics.unanswered = waiting_since is not None
    return metrics
