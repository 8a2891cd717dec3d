"""Which chat export a file is, and its chats: Telegram JSON, WhatsApp text, or dated ``М:``/``К:`` text.

A dated ``М:``/``К:`` chat has a date and time in front of each message, so a call transcript (``[mm:ss]`` or no
times) is never taken for a chat::

    [02.01.2025 10:00] К: Здравствуйте, сколько стоит подключение?
    [02.01.2025 10:04] М: Добрый день! Меня зовут Ольга, компания «Связь-Сервис».
"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any, Optional

from compliance.errors import TranscriptError
from compliance.files import shown_path
from compliance.scoring.transcript import read_text, role_of
from compliance.text.catalogue import say

from .model import Chat, ChatMessage
from .telegram import is_telegram, parse_telegram
from .whatsapp import looks_like_whatsapp, parse_whatsapp

CHAT_SUFFIXES = frozenset({".json", ".txt"})
_DATED = re.compile(r"^\[(?P<stamp>\d{1,4}[.-]\d{1,2}[.-]\d{2,4}[ T]\d{1,2}:\d{2}(?::\d{2})?)\]\s*"
                    r"(?P<who>[^\W\d_]+)\s*:\s*(?P<text>.*)$")
_DATED_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M",
                  "%d.%m.%y %H:%M:%S", "%d.%m.%y %H:%M")


def _read_text(path: Path) -> str:
    return read_text(path).lstrip("\ufeff")


def _json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(say("err.chat.json", path=path, line=exc.lineno, column=exc.colno)) from None
    except (RecursionError, ValueError):
        raise TranscriptError(say("err.chat.json_shape", path=path)) from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def chat_format(path: Path) -> Optional[str]:
    """``telegram``, ``whatsapp`` or ``text`` when the file is a chat export, else None (a call transcript,
    or a file that cannot be read: the transcript reader then says why)."""
    if path.suffix.lower() not in CHAT_SUFFIXES:
        return None
    try:
        text = path.read_text(encoding="utf-8").lstrip("\ufeff")
    except (OSError, UnicodeDecodeError):
        return None
    if path.suffix.lower() == ".json":
        stripped = text.lstrip()
        if not stripped.startswith("{"):
            return None
        try:
            return "telegram" if is_telegram(json.loads(text)) else None
        except (ValueError, RecursionError):
            # A broken file that starts like a Telegram export is a broken chat, not a broken transcript.
            return "telegram" if re.match(r'\{\s*"(about|name|chats)"', stripped) else None
    if looks_like_whatsapp(text):
        return "whatsapp"
    return "text" if _DATED.match(_first_line(text)) else None


def _dated_stamp(stamp: str, path: Path, number: int) -> dt.datetime:
    for fmt in _DATED_FORMATS:
        try:
            return dt.datetime.strptime(stamp.replace("T", " "), fmt)
        except ValueError:
            continue
    raise TranscriptError(say("err.chat.date", path=path, line=number, stamp=stamp))


def parse_dated_text(text: str, path: Path) -> Chat:
    """A chat typed as ``[date time] М: …`` / ``[date time] К: …``; an undated line continues the message."""
    chat = Chat(key=path.stem, title=path.stem, source=shown_path(path), fmt="text")
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = _DATED.match(line)
        side = role_of(m.group("who")) if m else None
        if m and side:
            chat.messages.append(ChatMessage(sender=m.group("who"), side=side, text=m.group("text").strip(),
                                             at=_dated_stamp(m.group("stamp"), path, number)))
        elif line and chat.messages:
            chat.messages[-1].text = f"{chat.messages[-1].text}\n{line}".strip()
    return chat


def read_chats(path: Path) -> list[Chat]:
    """Every conversation in a chat export (one, or one per chat of a whole Telegram export).

    Raises:
        TranscriptError: not readable, not a chat export, broken JSON, a date in no known format, no messages.
    """
    path = Path(path)
    text = _read_text(path)
    fmt = chat_format(path)
    source = shown_path(path)
    if fmt == "telegram":
        chats = parse_telegram(_json(text, path), source)
    elif fmt == "whatsapp":
        chats = [parse_whatsapp(text, source, path.stem)]
    elif fmt == "text":
        chats = [parse_dated_text(text, path)]
    else:
        raise TranscriptError(say("err.chat.not_export", path=path))
    chats = [c for c in chats if c.messages]
    if not chats:
        raise TranscriptError(say("err.chat.empty", path=path))
    return chats
