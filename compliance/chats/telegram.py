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

from .model import Chat, ChatMessage

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


def _when(message: dict[str, Any], where: str) -> dt.datetime:
    raw = message.get("date")
    if isinstance(raw, str):
        try:
            return dt.datetime.fromisoformat(raw).replace(tzinfo=None)
        except ValueError:
            pass
    stamp = message.get("date_unixtime")
    if isinstance(stamp, (str, int)) and str(stamp).isdigit():
        return dt.datetime.fromtimestamp(int(stamp))
    raise TranscriptError(f"{where}: message {message.get('id', '?')}: unknown date format {str(raw)[:40]!r} "
                          "(Telegram Desktop writes 2025-01-02T10:00:00); export the chat again as JSON")


def _chat(data: dict[str, Any], source: str, index: int) -> Chat:
    messages = data.get("messages")
    if not isinstance(messages, list):
        raise TranscriptError(f"{source}: chat {index + 1}: no 'messages' list; export the chat again as JSON")
    title = str(data.get("name") or "")
    key = f"tg{data['id']}" if isinstance(data.get("id"), (int, str)) and str(data.get("id")) else title or str(index)
    chat = Chat(key=key, title=title, source=source, fmt="telegram")
    for message in messages:
        if not isinstance(message, dict) or message.get("type", "message") != "message":
            continue  # service messages: calls, pins, "joined the group"
        text, media = _text(message.get("text")), _media(message)
        if not text.strip() and not media:
            continue
        sender = str(message.get("from") or message.get("from_id") or "")
        chat.messages.append(ChatMessage(sender=sender, text=text.strip(), at=_when(message, source), media=media))
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
