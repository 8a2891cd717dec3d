"""Transcripts: the shape every source (speech recognition, text file, JSON) is turned into."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compliance.errors import TranscriptError

Speaker = Literal["manager", "client", "unknown"]


class Word(BaseModel):
    """One recognised word with its time and the recogniser's confidence."""

    model_config = ConfigDict(extra="ignore")

    word: str
    start: Optional[float] = None
    end: Optional[float] = None
    probability: Optional[float] = None


class Segment(BaseModel):
    """One turn (or part of a turn) of one speaker."""

    model_config = ConfigDict(extra="ignore")

    text: str
    speaker: Speaker = "unknown"
    start: Optional[float] = None
    end: Optional[float] = None
    words: list[Word] = Field(default_factory=list)


class TalkMetrics(BaseModel):
    """Who talked how much (known only for two-channel recordings)."""

    manager_share: float = 0.0
    client_share: float = 0.0
    longest_manager_monologue: float = 0.0
    interruptions: int = 0
    silence: float = 0.0
    manager_speech: float = 0.0
    client_speech: float = 0.0


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
    notes: list[str] = Field(default_factory=list)

    @property
    def speakers_known(self) -> bool:
        """True when at least one segment is attributed to the manager or the client."""
        return any(s.speaker != "unknown" for s in self.segments)

    def text_of(self, speaker: Speaker) -> str:
        return " ".join(s.text for s in self.segments if s.speaker == speaker)


_PREFIXES: dict[str, Speaker] = {
    "м": "manager", "менеджер": "manager", "manager": "manager", "m": "manager", "оператор": "manager",
    "к": "client", "клиент": "client", "client": "client", "c": "client", "абонент": "client",
}
_TURN = re.compile(r"^\s*(?:\[(?P<ts>[\d:.]+)\]\s*)?(?P<who>[^\W\d_]+)\s*:\s*(?P<text>.*)$")


def _parse_time(value: str) -> float:
    seconds = 0.0
    for part in value.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def parse_text_transcript(text: str, source: str | None = None) -> Transcript:
    """Parse ``М: …`` / ``К: …`` lines; a line without a prefix continues the previous turn.

    An optional ``[mm:ss]`` before the prefix gives the turn's start time.
    """
    segments: list[Segment] = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("\ufeff")
        if not line:
            continue
        m = _TURN.match(line)
        who = _PREFIXES.get(m.group("who").lower()) if m else None
        if m and who:
            start = _parse_time(m.group("ts")) if m.group("ts") else None
            segments.append(Segment(text=m.group("text").strip(), speaker=who, start=start))
        elif segments:
            segments[-1].text = (segments[-1].text + " " + line).strip()
        else:
            segments.append(Segment(text=line, speaker="unknown"))
    return Transcript(segments=segments, source=source)


def load_transcript(path: str | Path) -> Transcript:
    """Read a ``.txt`` or ``.json`` transcript.

    Raises:
        TranscriptError: the file is missing, not UTF-8, or not in a known shape.
    """
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TranscriptError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise TranscriptError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None
    except OSError as exc:
        raise TranscriptError(f"{path}: cannot read ({exc.strerror})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TranscriptError(f"{path}: line {exc.lineno}: invalid JSON ({exc.msg})") from None
        if isinstance(data, dict) and isinstance(data.get("transcript"), dict):
            data = data["transcript"]
        try:
            transcript = Transcript.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise TranscriptError(f"{path}: {where}: {first['msg']}") from None
        if not isinstance(data, dict) or "segments" not in data:
            raise TranscriptError(f"{path}: expected an object with a 'segments' list")
    else:
        transcript = parse_text_transcript(raw)
    transcript.source = str(path)
    return transcript
