"""The extractive summary of a call for its CRM note: the client's request, when they will pay, the agreed next
step, or why we can't deliver and the answer about future cooperation, quoted from the stored evidence.

Which stages and lines answer what lives in a data file (``summary.yaml`` beside this module), not in code: a lead
with a script of their own adds its stage ids or title words there. Nothing is paraphrased: the note quotes the
manager's sentence that the scorer found, or the client's reply right after it.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, Optional, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from compliance.errors import CrmError
from compliance.scoring.result import CallResult, Found, LineResult, StageResult
from compliance.scoring.transcript import Segment
from compliance.text.catalogue import say
from compliance.text.validation import describe, where

SUMMARY_MAP = Path(__file__).resolve().parent / "summary.yaml"
MAX_QUOTE = 300                 # characters of one quote: a CRM note is read at a glance
_REPLY_REACH = 2                # the client's answer is in one of the next turns
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


class SummaryItem(BaseModel):
    """One thing the summary tells, and where in a call it is found."""

    model_config = ConfigDict(extra="forbid")

    key: str
    label: dict[str, str]
    stages: list[str] = Field(default_factory=list)
    titles: list[str] = Field(default_factory=list)
    lines: list[int] = Field(default_factory=list)
    first: bool = False
    quote: Literal["client", "manager", "both"] = "client"

    def stage_of(self, stages: Sequence[StageResult]) -> Optional[StageResult]:
        """The first stage said (and not ruled out by a branch) this item reads: by id in the listed order, then
        by title words."""
        said = [s for s in stages if s.present and s.applies]
        for sid in self.stages:
            found = next((s for s in said if s.id == sid), None)
            if found:
                return found
        words = [w.casefold() for w in self.titles]
        return next((s for s in said if any(w in s.title.casefold() for w in words)), None)


class SummaryMap(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[SummaryItem]


class Quote(BaseModel):
    speaker: Literal["manager", "client"]
    text: str


class SummaryLine(BaseModel):
    """One line of the summary: its label key and what was said."""

    key: str
    label: dict[str, str]
    quotes: list[Quote]


@lru_cache(maxsize=4)
def load_summary_map(path: Path = SUMMARY_MAP) -> SummaryMap:
    """Read the summary mapping.

    Raises:
        CrmError: the file is missing, not YAML, or has unknown keys.
    """
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return SummaryMap.model_validate(data)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise CrmError(say("err.crm.mapping_unreadable", path=path, why=exc)) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CrmError(say("err.crm.mapping_invalid", path=path, where=where(err), what=describe(err))) from None


def summarise(result: CallResult, segments: Sequence[Segment], mapping: SummaryMap | None = None) -> list[SummaryLine]:
    """The summary lines of one scored call, in the mapping's order (those the call has no answer for are left out)."""
    mapping = mapping or load_summary_map()
    out: list[SummaryLine] = []
    for item in mapping.items:
        stage = item.stage_of(result.stages)
        if stage is None:
            continue
        quotes: list[Quote] = []
        for line in _said_lines(stage, item):
            for quote in _quotes(line, segments, item.quote):
                if quote not in quotes:
                    quotes.append(quote)
        quotes = [q for q in quotes if not any(q in done.quotes for done in out)]  # one answer, one label
        if quotes:
            out.append(SummaryLine(key=item.key, label=item.label, quotes=quotes))
    return out


def _said_lines(stage: StageResult, item: SummaryItem) -> list[LineResult]:
    picked = [stage.lines[i] for i in item.lines if 0 <= i < len(stage.lines)] if item.lines else list(stage.lines)
    said = [ln for ln in picked if ln.found != Found.ABSENT and ln.turn is not None]
    return said[:1] if item.first else said


def _quotes(line: LineResult, segments: Sequence[Segment], whose: str) -> list[Quote]:
    turn = line.turn
    if turn is None or not 0 <= turn < len(segments):
        return []
    out: list[Quote] = []
    if whose in ("manager", "both"):
        start = line.span.char_start if line.span and line.span.turn == turn else 0
        sentence = _sentence_at(segments[turn].text, start)
        if sentence:
            out.append(Quote(speaker="manager", text=sentence))
    if whose in ("client", "both"):
        last = line.span.turn_end if line.span and line.span.turn_end is not None else turn
        reply = _reply_after(segments, last)
        if reply:
            out.append(Quote(speaker="client", text=reply))
    return out


def _sentence_at(text: str, offset: int) -> str:
    """The sentence of ``text`` that holds character ``offset``."""
    start = 0
    for piece in _SENTENCE_END.split(text):
        begin = text.find(piece, start)
        if begin + len(piece) > offset:
            return _shorten(piece)
        start = begin + len(piece)
    return _shorten(text)


def _reply_after(segments: Sequence[Segment], turn: int) -> str:
    """The client's next turn (any other speaker's when speakers are not told apart)."""
    asker = segments[turn].speaker
    for seg in segments[turn + 1: turn + 1 + _REPLY_REACH]:
        if seg.speaker == "client" or (asker == "unknown" and seg.speaker == "unknown"):
            return _shorten(seg.text)
    return ""


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= MAX_QUOTE:
        return text
    cut = text[:MAX_QUOTE].rsplit(" ", 1)[0]
    return cut.rstrip(",;:—- ") + "…"
