"""Transcripts: the shape every source (speech recognition, text file, JSON) is turned into."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_serializer

from compliance.errors import NotTextError, TranscriptError
from compliance.files import shown_path
from compliance.messages import Message
from compliance.scoring.quality import RecognitionQuality
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.validation import describe, where

# "background": words heard on a party's channel far below its speaker (another voice in the room); kept in the
# transcript, never read as the manager's or the client's.
Speaker = Literal["manager", "client", "unknown", "background"]


class Word(BaseModel):
    """One recognised word with its time and the recogniser's confidence."""

    model_config = ConfigDict(extra="ignore")

    word: str
    start: Optional[float] = None
    end: Optional[float] = None
    probability: Optional[float] = None
    level: Optional[float] = None      # dBFS over the word's time (recordings): tells background voices apart
    other_voice: Optional[bool] = None  # said by another, quieter voice than the channel's speaker (speech.others)

    @model_serializer(mode="wrap")
    def _only_marked(self, handler):  # noqa: ANN001, ANN202 - pydantic's serializer protocol
        """``other_voice`` is written only on the words it marks: the JSON of every other word stays as it was."""
        data = handler(self)
        if isinstance(data, dict) and data.get("other_voice") is None:
            data.pop("other_voice", None)
        return data


class Segment(BaseModel):
    """One turn (or part of a turn) of one speaker."""

    model_config = ConfigDict(extra="ignore")

    text: str
    speaker: Speaker = "unknown"
    start: Optional[float] = None
    end: Optional[float] = None
    words: list[Word] = Field(default_factory=list)
    at: Optional[str] = None          # a chat message's own date and time (ISO), kept beside its offset ``start``


class TalkMetrics(BaseModel):
    """Who talked how much (known only for two-channel recordings)."""

    manager_share: float = 0.0
    client_share: float = 0.0
    longest_manager_monologue: float = 0.0
    interruptions: int = 0
    silence: float = 0.0
    manager_speech: float = 0.0
    client_speech: float = 0.0
    response_time: Optional[float] = None  # mean pause between the client's turn and the manager's answer (s)


class ChatMetrics(BaseModel):
    """How quickly the manager answered in a chat (seconds; None where it does not apply)."""

    started: Optional[str] = None            # the first message's date and time (ISO): turn offsets count from it
    first_response: Optional[float] = None   # client's first message → the manager's first reply after it
    longest_wait: Optional[float] = None     # the longest a client waited for the manager's next message
    manager_messages: int = 0
    client_messages: int = 0
    unanswered: bool = False                 # the client wrote last and got no reply in the export


class Parties(BaseModel):
    """How a one-channel call was split into its two parties by voice, and which one is the manager."""

    voices: int = 2                   # 0: no speech, 1: one voice only, 2: two parties
    separated: bool = True            # the voices were told apart with confidence
    separation: float = 0.0           # how far apart the two voices are (diarization's own measure)
    manager: int = 0                  # the manager's party (0: the one diarization calls first)
    by: Literal["script", "voice", "first", "lead"] = "script"  # what chose the manager
    confidence: float = 0.5           # 0.5–1: how sure the role decision is
    fits: list[float] = Field(default_factory=list)  # each party's script fit (%, -1: no speech)
    swapped: bool = False             # the lead swapped the parties (the machine's choice reversed)


class Transcript(BaseModel):
    """What was said on a call, turn by turn."""

    model_config = ConfigDict(extra="ignore")

    segments: list[Segment] = Field(default_factory=list)
    source: Optional[str] = None
    language: Optional[str] = None
    duration: Optional[float] = None
    model: Optional[str] = None
    manager_channel: Optional[str] = None
    talk: Optional[TalkMetrics] = None
    kind: Literal["call", "chat"] = "call"                   # a chat: messages, with ``chat`` metrics
    chat: Optional[ChatMetrics] = None
    notes: list[str] = Field(default_factory=list)          # what recognition noted, in Russian (the CLI)
    messages: list[Message] = Field(default_factory=list)   # the same, as codes (reports, any language)
    parties: Optional[Parties] = None                       # a one-channel call split by voice
    flags: list[Message] = Field(default_factory=list)      # for a lead to check before the call counts
    quality: Optional[RecognitionQuality] = None            # recordings: how well each channel was recognised

    def note(self, message: Message) -> None:
        """Record a note as a code and as Russian text."""
        self.messages.append(message)
        self.notes.append(message.text("ru"))

    @property
    def speakers_known(self) -> bool:
        """True when at least one segment is attributed to the manager or the client."""
        return any(s.speaker in ("manager", "client") for s in self.segments)

    def text_of(self, speaker: Speaker) -> str:
        return " ".join(s.text for s in self.segments if s.speaker == speaker)


def swap_parties(transcript: Transcript) -> Transcript:
    """The transcript with manager and client the other way round (the lead's correction of a one-channel call's
    roles): speakers, talk metrics and the role decision; its review flags are answered by the lead's decision."""
    other: dict[str, Speaker] = {"manager": "client", "client": "manager", "unknown": "unknown"}
    out = transcript.model_copy(deep=True)
    for seg in out.segments:
        seg.speaker = other[seg.speaker]
    if out.talk is not None:
        t = out.talk
        longest = max(((s.end or 0.0) - (s.start or 0.0) for s in out.segments if s.speaker == "manager"), default=0.0)
        out.talk = t.model_copy(update={
            "manager_share": t.client_share, "client_share": t.manager_share, "manager_speech": t.client_speech,
            "client_speech": t.manager_speech, "longest_manager_monologue": round(longest, 2)})
    if out.parties is not None:
        out.parties.manager = 1 - out.parties.manager
        out.parties.swapped = not out.parties.swapped
    return out


_PREFIXES: dict[str, Speaker] = {
    "м": "manager", "менеджер": "manager", "manager": "manager", "m": "manager", "оператор": "manager",
    "к": "client", "клиент": "client", "client": "client", "c": "client", "абонент": "client",
}
# Latin letters that look like the Cyrillic prefixes (a transcript typed on another keyboard layout).
_LOOKALIKE = str.maketrans({"m": "м", "k": "к", "M": "м", "K": "к"})
# "Клиент Андрей:", "Менеджер Ольга Петрова:": a role followed by a name (one to three capitalised words).
_TURN = re.compile(r"^\s*(?:\[(?P<ts>[^\]]*)\]\s*)?(?P<who>[^\W\d_]+)(?P<name>(?:\s+[^\W\d_][\w.-]*){0,3})\s*:\s*(?P<text>.*)$")
_TIME = re.compile(r"^\d{1,3}(?::\d{1,2}){0,2}(?:[.,]\d+)?$")


def _parse_time(value: str, line: int, source: str | None) -> float:
    """``ss``, ``mm:ss`` or ``hh:mm:ss`` (with decimals) → seconds; anything else is a clear error."""
    if not _TIME.match(value.strip()):
        where = f"{source}: " if source else ""
        raise TranscriptError(where + say("err.transcript.timestamp", line=line, value=value))
    seconds = 0.0
    for part in value.strip().replace(",", ".").split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def role_of(who: str, name: str = "") -> Optional[Speaker]:
    """The role a prefix names: exact, a Latin look-alike of М/К, or a role followed by a name."""
    key = who.lower()
    role = _PREFIXES.get(key) or _PREFIXES.get(key.translate(_LOOKALIKE))
    if role is None or (name and len(key) <= 1):
        return None  # "М Иванова:" is too ambiguous; roles with names are written out: "Менеджер Ольга:"
    return role


def parse_text_transcript(text: str, source: str | None = None) -> Transcript:
    """Parse ``М: …`` / ``К: …`` lines; a line without a prefix continues the previous turn.

    An optional ``[mm:ss]`` before the prefix gives the turn's start time. ``Клиент Андрей:`` and Latin
    ``K:``/``M:`` are recognised; any other ``Word:`` at the start of a line is kept as text of the turn and
    reported in the transcript's notes with its line number, never merged silently.

    Raises:
        TranscriptError: a bad timestamp.
    """
    segments: list[Segment] = []
    noted: list[Message] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        m = _TURN.match(line)
        who = role_of(m.group("who"), m.group("name").strip()) if m else None
        if m and who:
            start = _parse_time(m.group("ts"), number, source) if m.group("ts") is not None else None
            segments.append(Segment(text=m.group("text").strip(), speaker=who, start=start))
            continue
        if m and not m.group("name") and segments:
            noted.append(Message(code="unknown_prefix", params={"line": number, "prefix": m.group("who")}))
        if segments:
            segments[-1].text = (segments[-1].text + " " + line).strip()
        else:
            segments.append(Segment(text=line, speaker="unknown"))
    transcript = Transcript(segments=segments, source=source)
    if segments and not transcript.speakers_known:
        noted.insert(0, Message(code="no_prefixes"))
    for message in noted:
        transcript.note(message)
    return transcript


def _no_constant(name: str) -> float:
    raise ValueError(say("err.transcript.constant", name=name))


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(say("err.transcript.number", text=text[:20]))
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 15:
        raise ValueError(say("err.transcript.number", text=text[:20]))
    return int(text)


# What a recording or an archive starts with: named so the error can say what the file is.
_MAGIC = ((b"RIFF", "wav"), (b"ID3", "mp3"), (b"\xff\xfb", "mp3"), (b"OggS", "ogg"), (b"fLaC", "flac"),
          (b"\x1aE\xdf\xa3", "webm"), (b"PK\x03\x04", "zip"), (b"%PDF", "pdf"))   # err.transcript.is.<what>


def _sniff_binary(path: Path, head: bytes) -> None:
    """Refuse what is not text before reading it as text: a NUL byte or many control bytes in the first 8 KB."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):   # UTF-16 text (Notepad's "Unicode"): text, in the wrong encoding
        raise TranscriptError(say("err.transcript.utf16", path=path))
    for magic, what in _MAGIC:
        if head.startswith(magic):
            raise NotTextError(say("err.transcript.not_text", path=path, what=say(f"err.transcript.is.{what}")))
    if head[4:8] == b"ftyp":
        raise NotTextError(say("err.transcript.mp4", path=path))
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > max(2, len(head) // 100):
        raise NotTextError(say("err.transcript.binary", path=path))


def read_text(path: Path) -> str:
    """A transcript or chat file's text (UTF-8), or one clear ``TranscriptError``: missing, not text, not UTF-8,
    unreadable."""
    try:
        with path.open("rb") as handle:
            _sniff_binary(path, handle.read(8192))
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(say("err.transcript.missing", path=path)) from None
    except UnicodeDecodeError as exc:
        raise TranscriptError(say("err.transcript.not_utf8", path=path, at=exc.start)) from None
    except OSError as exc:
        raise TranscriptError(say("err.transcript.unreadable", path=path, why=os_reason(exc))) from None


def load_transcript(path: str | Path) -> Transcript:
    """Read a ``.txt`` or ``.json`` transcript.

    Raises:
        TranscriptError: the file is missing, not UTF-8, or not in a known shape.
    """
    path = Path(path)
    raw = read_text(path)
    if not raw.strip().lstrip("\ufeff"):
        raise TranscriptError(say("err.transcript.empty", path=path))
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw, parse_constant=_no_constant, parse_int=_bounded_int, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            raise TranscriptError(say("err.transcript.json", path=path, line=exc.lineno, column=exc.colno)) from None
        except RecursionError:
            raise TranscriptError(say("err.transcript.nested", path=path)) from None
        except ValueError as exc:
            raise TranscriptError(say("err.transcript.value", path=path, why=exc)) from None
        if isinstance(data, dict) and isinstance(data.get("transcript"), dict):
            data = data["transcript"]
        try:
            transcript = Transcript.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            raise TranscriptError(say("err.transcript.invalid", path=path, where=where(first),
                                      what=describe(first))) from None
        if not isinstance(data, dict) or "segments" not in data:
            raise TranscriptError(say("err.transcript.shape", path=path))
    else:
        transcript = parse_text_transcript(raw, source=str(path))
    transcript.source = shown_path(path)
    return transcript
