"""Telegram Desktop's JSON export (``result.json``): one chat, or a whole account's export with many chats.

One chat::

    {"name": "Анна Смирнова", "type": "personal_chat", "id": 4242,
     "messages": [{"id": 1, "type": "message", "date": "2025-01-02T10:00:00", "date_unixtime": "1735804800",
                   "from": "Анна Смирнова", "from_id": "user4242", "text": "Здравствуйте!"}, …]}

A whole export holds them under ``{"about": …, "chats": {"list": [chat, …]}}``. ``text`` is a string or a list
of strings and entities (``{"type": "bold", "text": "…"}``); attachments show as ``photo``, ``file`` or
``media_type``. Service messages (a call, a pin, a group created) are not part of the conversation.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from compliance.errors import TranscriptError
from compliance.text.catalogue import say

from .model import Chat, ChatMessage

_MOST_OFFSET = dt.timedelta(hours=14)     # the farthest a time zone is from UTC
_MEDIA_WORDS = {"voice_message": "voice message", "video_message": "video message", "video_file": "video",
                "audio_file": "audio", "sticker": "sticker", "animation": "GIF"}


def is_telegram(data: Any) -> bool:
    """Whether parsed JSON is a Telegram Desktop export (one chat or a whole export)."""
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("chats"), dict) and isinstance(data["chats"].get("list"), list):
        return True
    return isinstance(data.get("messages"), list) and ("type" in data or "name" in data) and "segments" not in data


def _text(value: Any) -> str:
    """A message's text: a string, or a list of strings and ``{"type", "text"}`` entities."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(part if isinstance(part, str) else str(part.get("text", "")) if isinstance(part, dict)
                       else "" for part in value)
    return ""


def _media(message: dict[str, Any]) -> Optional[str]:
    if message.get("photo"):
        return "photo"
    kind = message.get("media_type")
    if isinstance(kind, str):
        return _MEDIA_WORDS.get(kind, kind.replace("_", " "))
    if message.get("file"):
        name = message.get("file_name") or str(message["file"]).rsplit("/", 1)[-1]
        return f"file: {name}"
    if message.get("poll"):
        return "poll"
    if message.get("location_information"):
        return "location"
    if message.get("contact_information"):
        return "contact"
    return None


def _moment(message: dict[str, Any], where: str) -> tuple[Optional[dt.datetime], Optional[dt.datetime]]:
    """When a message was sent: the wall clock as written (``date``), and the instant in UTC when the export gives
    one (``date`` with an offset, else ``date_unixtime``).

    Raises:
        TranscriptError: neither is a date, or the instant is out of range.
    """
    raw, wall, instant = message.get("date"), None, None
    if isinstance(raw, str):
        try:
            parsed = dt.datetime.fromisoformat(raw)
            wall = parsed.replace(tzinfo=None)
            instant = parsed.astimezone(dt.timezone.utc) if parsed.tzinfo else None
        except (ValueError, OverflowError):
            pass
    stamp = message.get("date_unixtime")
    if instant is None and isinstance(stamp, (str, int)) and not isinstance(stamp, bool) and str(stamp).isdigit():
        try:
            instant = dt.datetime.fromtimestamp(int(stamp), dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise TranscriptError(say("err.chat.tg_unixtime", where=where, id=message.get("id", "?"),
                                      stamp=repr(str(stamp)[:40]))) from None
    if wall is not None and instant is not None and abs(wall - instant.replace(tzinfo=None)) > _MOST_OFFSET:
        instant = None  # not this wall time in any zone (an export tool writes 0): the wall time is what is known
    if wall is None and instant is None:
        raise TranscriptError(say("err.chat.tg_date", where=where, id=message.get("id", "?"), raw=repr(str(raw)[:40])))
    return wall, instant


def _clock(moments: list[tuple[Optional[dt.datetime], Optional[dt.datetime]]], where: str) -> list[dt.datetime]:
    """The messages' times on one clock: that of the chat's first message whose wall time and instant are both
    known. An export's wall times jump when the clocks change (or the exporter travels); its instants do not, so
    every instant is put on that one clock (no answer comes before its question)."""
    local = dt.datetime.now().astimezone().utcoffset() or dt.timedelta(0)
    offset = next((wall - instant.replace(tzinfo=None) for wall, instant in moments if wall and instant), local)
    times = []
    for wall, instant in moments:
        if instant is None:
            assert wall is not None  # _moment gives one or the other
            times.append(wall)
            continue
        try:
            times.append(instant.replace(tzinfo=None) + offset)
        except OverflowError:
            raise TranscriptError(say("err.chat.tg_range", where=where)) from None
    return times


def _chat(data: dict[str, Any], source: str, index: int) -> Chat:
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise TranscriptError(say("err.chat.tg_no_messages", source=source, number=index + 1))
    title = str(data.get("name") or "")
    key = f"tg{data['id']}" if isinstance(data.get("id"), (int, str)) and str(data.get("id")) else title or str(index)
    chat = Chat(key=key, title=title, source=source, fmt="telegram")
    where = f"{source}: chat {index + 1}" + (f" «{title[:60]}»" if title else "")
    kept, moments = [], []
    for message in messages:
        if not isinstance(message, dict) or message.get("type", "message") != "message":
            continue  # service messages: calls, pins, "joined the group"
        text, media = _text(message.get("text")), _media(message)
        if not text.strip() and not media:
            continue
        kept.append((str(message.get("from") or message.get("from_id") or ""), text.strip(), media))
        moments.append(_moment(message, where))
    for (sender, text, media), at in zip(kept, _clock(moments, where)):
        chat.messages.append(ChatMessage(sender=sender, text=text, at=at, media=media))
    return chat


def parse_telegram(data: Any, source: str) -> list[Chat]:
    """The chats of a Telegram export (``is_telegram(data)`` holds); chats without messages are left out.

    Raises:
        TranscriptError: a chat without a message list, a date that is not Telegram's.
    """
    if isinstance(data.get("chats"), dict):
        raw = [c for c in data["chats"]["list"] if isinstance(c, dict)]
    else:
        raw = [data]
    chats = [_chat(item, source, i) for i, item in enumerate(raw)]
    kept = [c for c in chats if c.messages]
    for c in kept:
        c.several = len(raw) > 1
    return kept
