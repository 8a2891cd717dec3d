"""WhatsApp's ``.txt`` chat export (Android and iOS, any phone language's date order).

Android::

    02.01.25, 10:00 - Анна Смирнова: Здравствуйте!        1/2/25, 10:00 AM - Anna: Hi
iOS::

    [02.01.25, 10:00:00] Анна Смирнова: Здравствуйте!

A line that does not start with a date continues the previous message (a message with line breaks); so does a
line whose date is written in another shape than the file's first header (``2015-03-01, 09:00`` inside a chat of
``02.01.25, 10:00 -`` headers is a quoted date, not a message). A dated line without ``Name:`` is a system line
(encryption notice, "X added Y") and is left out. Attachments are written as
``<Медиа отсутствуют>``, ``<Media omitted>``, ``image omitted`` or ``<attached: …>``.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from compliance.errors import TranscriptError
from compliance.text.catalogue import say

from .model import Chat, ChatMessage

# Invisible marks WhatsApp puts around names and attachments (left-to-right mark, narrow no-break space …).
_INVISIBLE = str.maketrans({"\u200e": "", "\u200f": "", "\u202a": "", "\u202c": "", "\ufeff": "",
                            "\u202f": " ", "\u00a0": " "})
_HEADER = re.compile(
    r"^(?P<bracket>\[)?(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4}),\s+"
    r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?:\s?[AaPp]\.?\s?[Mm]\.?)?)(?(bracket)\])\s*(?:[-–]\s+)?(?P<rest>.*)$")
_SENDER = re.compile(r"^(?P<name>[^:]{1,80}?):\s(?P<text>.*)$|^(?P<name2>[^:]{1,80}?):$")
_MEDIA = re.compile(
    r"^<?(?:медиа отсутствуют|media omitted|медиафайл отсутствует|без медиафайлов|"
    r"(?:image|video|audio|sticker|gif|document|изображение|видео|аудио|стикер|документ|gif-файл) "
    r"(?:omitted|отсутствует)|(?:attached|прикреплено|вложение): [^>]+)>?$", re.IGNORECASE)


def looks_like_whatsapp(text: str) -> bool:
    """Whether the first non-empty line of a text file is a WhatsApp header (``date, time - …`` or
    ``[date, time] …``: a message or a system line)."""
    for line in text.splitlines():
        line = line.translate(_INVISIBLE).strip()
        if line:
            head = _HEADER.match(line)
            return bool(head and (head.group("bracket") or " - " in line or " – " in line))
    return False


def _date_order(dates: list[str]) -> str:
    """``dmy`` or ``mdy`` for the whole file: a first number above 12 is a day; US-style slashes default to mdy."""
    parts = [re.split(r"[./-]", d) for d in dates]
    if any(len(p[0]) == 4 for p in parts):
        return "ymd"
    if any(int(p[0]) > 12 for p in parts):
        return "dmy"
    if any(int(p[1]) > 12 for p in parts):
        return "mdy"
    return "mdy" if "/" in dates[0] else "dmy"


def _stamp(date: str, time: str, order: str) -> Optional[dt.datetime]:
    a, b, c = (int(x) for x in re.split(r"[./-]", date))
    year, month, day = (a, b, c) if order == "ymd" else (c, b, a) if order == "dmy" else (c, a, b)
    if year < 100:
        year += 2000
    clock = time.replace(".", "").upper().replace(" ", "")
    pm, am = clock.endswith("PM"), clock.endswith("AM")
    hms = [int(x) for x in clock.rstrip("APM").split(":")]
    hour = hms[0] % 12 + (12 if pm else 0) if (pm or am) else hms[0]
    try:
        return dt.datetime(year, month, day, hour, hms[1], hms[2] if len(hms) > 2 else 0)
    except ValueError:
        return None


_ATTACHED = re.compile(r"^(?P<file>\S+\.\w{2,5}) \((?:файл добавлен|file attached)\)$", re.IGNORECASE)
# iOS writes the encryption notice as a message of the chat itself: it is nobody's message.
_NOTICE = ("сквозным шифрованием", "end-to-end encrypted")


def _media(text: str) -> Optional[str]:
    plain = text.strip()
    attached = _ATTACHED.match(plain)
    if attached:
        return f"file: {attached.group('file')}"
    if _MEDIA.match(plain):
        return "media omitted" if "attach" not in plain.lower() and ":" not in plain else plain.strip("<>")
    return None


def _shape(head: re.Match) -> tuple[bool, str, bool]:
    """How a header is written: bracketed (iOS) or not, its date's digit groups and separators (``d.d.d``,
    ``dddd-d-d``), and a dash after the time (Android). One export writes every header the same way."""
    digits = re.sub(r"\d+", lambda m: "dddd" if len(m.group()) == 4 else "d", head.group("date"))
    dash = bool(re.match(r"\s*[-–]\s", head.string[head.end("time"):].lstrip("]")))
    return bool(head.group("bracket")), digits, dash


def _headers(lines: list[str]) -> list[tuple[Optional[re.Match], int]]:
    """Each line's header match, kept only where it has the shape of the file's first header."""
    found = [(_HEADER.match(line.strip()), n) for n, line in enumerate(lines, 1)]
    first = next((m for m, _ in found if m), None)
    shape = _shape(first) if first else None
    return [(m if m and _shape(m) == shape else None, n) for m, n in found]


def parse_whatsapp(text: str, source: str, key: str) -> Chat:
    """A WhatsApp export as one chat.

    Raises:
        TranscriptError: a dated line whose date is not a date in any order WhatsApp writes.
    """
    lines = [raw.translate(_INVISIBLE).rstrip() for raw in text.splitlines()]
    headers = _headers(lines)
    order = _date_order([m.group("date") for m, _ in headers if m] or ["1.1.1"])
    chat = Chat(key=key, title=key, source=source, fmt="whatsapp")
    current: Optional[ChatMessage] = None
    for (head, number), line in zip(headers, lines):
        if head is None:
            if current is not None and line.strip():
                current.text = f"{current.text}\n{line.strip()}".strip()
            continue
        at = _stamp(head.group("date"), head.group("time"), order)
        if at is None:
            raise TranscriptError(say("err.chat.wa_date", source=source, line=number, date=head.group("date")))
        said = _SENDER.match(head.group("rest"))
        if said is None:
            current = None  # a system line; what follows it is not anyone's message
            continue
        body = said.group("text") or ""
        if any(notice in body for notice in _NOTICE):
            current = None
            continue
        media = _media(body)
        current = ChatMessage(sender=(said.group("name") or said.group("name2")).strip(),
                              text="" if media else body.strip(), at=at, media=media)
        chat.messages.append(current)
    return chat
