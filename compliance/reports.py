"""HTML reports: plain view data first (``build_*_page``), then Jinja rendering, then one atomic write.

Layout of a report set::

    index.html                          team overview, for the lead
    managers/<slug>/index.html          one manager's page
    managers/<slug>/calls/<call>.html   that manager's call pages

A manager's folder links only inside itself, so it can be handed to that manager alone.
Every page is self-contained (inline CSS, SVG and a little optional JS) and readable without JS.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import difflib
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import quote

import jinja2
from pydantic import BaseModel, Field
from rapidfuzz import fuzz

from . import __version__
from .errors import ComplianceError, ReportError
from .history import DAILY_TARGET
from .i18n import LANGUAGES, Translator
from .resources import resource_dir
from .result import CallRecord, CallResult, LineResult, StageResult
from .script import SalesScript
from .slug import slugify, unique_slugs
from .transcript import Segment, TalkMetrics, Transcript

IN_BAND = ("within", "above")     # verdicts that meet the band (as readiness counts them)
LINE_GOOD, LINE_FAIR = 80.0, 60.0  # line similarity grades
MARKER = ".compliance-report"     # marks a folder this module may replace


# ---------------------------------------------------------------------------------------------------
# View data
# ---------------------------------------------------------------------------------------------------

class Piece(BaseModel):
    """A run of text with a highlight kind (CSS classes) and an optional anchor."""

    text: str
    kind: str = ""                  # "", "hit", "bad", "miss", "extra", "name", "ph"
    anchor: Optional[str] = None
    title: str = ""
    placeholder: Optional[str] = None  # for kind "ph": the placeholder name, shown translated


class LineView(BaseModel):
    index: int
    script: list[Piece]             # what the script says, words not said marked "miss"
    said: list[Piece]               # what the manager said, words not in the script marked "extra"
    alternatives: list[str] = Field(default_factory=list)
    similarity: float
    grade: str                      # good | fair | poor | none
    start: Optional[float] = None
    href: Optional[str] = None
    found: str = "absent"           # verbatim | meaning | cue | absent
    meaning: Optional[float] = None  # 0–100, how close the manager's sentence is to the line in meaning

    @property
    def own_words(self) -> bool:
        return self.found in ("meaning", "cue")


class StageView(BaseModel):
    id: str
    title: str
    required: bool
    state: str                      # ok | missed | na | optional
    score: float
    start: Optional[float] = None
    href: Optional[str] = None
    lines: list[LineView] = Field(default_factory=list)


class StageRef(BaseModel):
    id: str
    title: str


class ForbiddenView(BaseModel):
    phrase: str
    start: Optional[float] = None
    href: Optional[str] = None
    context: list[Piece] = Field(default_factory=list)


class OrderView(BaseModel):
    stage: str                      # title of the stage said too early
    before: str                     # title of the stage it came before
    message: str = ""


class TurnView(BaseModel):
    index: int
    anchor: str
    speaker: str
    start: Optional[float] = None
    pieces: list[Piece]
    stages: list[StageRef] = Field(default_factory=list)


class CallPage(BaseModel):
    """Everything one call's page shows, as plain values."""

    call_id: str
    file: str
    manager_name: str
    date: Optional[str] = None
    time: Optional[str] = None
    duration: Optional[float] = None
    script_id: str
    script_title: str
    level: str
    band: tuple[float, float]
    connected: bool
    not_connected_reason: Optional[str] = None
    adherence: Optional[float] = None
    coverage: Optional[float] = None
    structure: Optional[float] = None
    meaning_checked: bool = True
    verdict: Optional[str] = None
    gap: Optional[float] = None     # points below the band's min (verdict below) or above its max
    required_total: int = 0
    required_present: int = 0
    order_ok: bool = True
    missed: list[StageRef] = Field(default_factory=list)
    stages: list[StageView] = Field(default_factory=list)
    forbidden: list[ForbiddenView] = Field(default_factory=list)
    order_violations: list[OrderView] = Field(default_factory=list)
    talk: Optional[TalkMetrics] = None
    speakers_known: bool = True
    has_transcript: bool = False
    has_times: bool = False
    turns: list[TurnView] = Field(default_factory=list)
    audio_href: Optional[str] = None
    notes: list[str] = Field(default_factory=list)
    back_href: Optional[str] = None
    prev_href: Optional[str] = None
    next_href: Optional[str] = None


class ChartPoint(BaseModel):
    x: float
    y: float
    label: str = ""
    kind: str = ""
    href: Optional[str] = None


class ChartBar(BaseModel):
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    kind: str


class Chart(BaseModel):
    """Geometry of an inline SVG chart (computed here, drawn by a template macro)."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    band_top: Optional[float] = None
    band_bottom: Optional[float] = None
    band_label: str = ""
    y_ticks: list[tuple[float, str]] = Field(default_factory=list)
    x_labels: list[tuple[float, str]] = Field(default_factory=list)
    points: list[ChartPoint] = Field(default_factory=list)
    line: str = ""                  # SVG polyline points
    line_points: list[ChartPoint] = Field(default_factory=list)
    bars: list[ChartBar] = Field(default_factory=list)


class CallRow(BaseModel):
    href: str
    date: Optional[str] = None
    time: Optional[str] = None
    duration: Optional[float] = None
    script_title: str = ""
    connected: bool
    reason: Optional[str] = None
    adherence: Optional[float] = None
    coverage: Optional[float] = None
    structure: Optional[float] = None
    verdict: Optional[str] = None
    missed: list[str] = Field(default_factory=list)
    forbidden: int = 0


class DayGroup(BaseModel):
    date: Optional[str]
    connected: int
    calls: list[CallRow]


class PeriodStats(BaseModel):
    key: str                        # day | week | month | all
    start: Optional[str] = None
    end: Optional[str] = None
    calls: int = 0
    connected: int = 0
    mean_adherence: Optional[float] = None
    mean_structure: Optional[float] = None
    share_in_band: Optional[float] = None
    per_day: Optional[float] = None  # connected calls per working day


class StageRate(BaseModel):
    id: str
    title: str
    script_title: str = ""
    required: bool = True
    applicable: int
    present: int
    rate: float                     # 0–100
    mean_score: float


class LineRate(BaseModel):
    stage_title: str
    text: str
    script_title: str = ""
    calls: int
    mean_similarity: float


class PhraseCount(BaseModel):
    phrase: str
    count: int
    calls: int


class ReadinessView(BaseModel):
    level: str
    state: str                      # ready | not_ready | unknown | review | ok
    window: int
    calls_considered: int
    share_in_band: Optional[float] = None  # 0–100
    mean_adherence: Optional[float] = None
    stages: list[tuple[str, float, bool]] = Field(default_factory=list)  # title, presence 0–100, weak
    calls_below: int = 0
    reasons: list[str] = Field(default_factory=list)


class ManagerPage(BaseModel):
    """One manager's page: periods, trend, stages, phrases, daily calls, readiness, every call."""

    name: str
    slug: str
    level: str
    band: Optional[tuple[float, float]] = None
    as_of: Optional[str] = None
    first_date: Optional[str] = None
    last_date: Optional[str] = None
    periods: list[PeriodStats]
    trend: Optional[Chart] = None
    daily: Optional[Chart] = None
    daily_target: tuple[int, int] = DAILY_TARGET
    stages: list[StageRate] = Field(default_factory=list)
    forbidden: list[PhraseCount] = Field(default_factory=list)
    readiness: Optional[ReadinessView] = None
    days: list[DayGroup] = Field(default_factory=list)
    total_calls: int = 0
    meaning_unchecked: int = 0      # connected calls scored by words only (the meaning model could not run)


class TeamRow(BaseModel):
    name: str
    href: str
    level: str
    calls: int
    connected: int
    today_connected: int
    mean_adherence: Optional[float] = None
    mean_structure: Optional[float] = None
    share_in_band: Optional[float] = None
    band: Optional[tuple[float, float]] = None
    spark: Optional[Chart] = None
    delta: Optional[float] = None   # mean of the last 7 days minus the 7 before, points
    readiness: Optional[ReadinessView] = None


class Failure(BaseModel):
    file: str
    reason: str


class TeamPage(BaseModel):
    """The lead's overview: a row per manager, the team's weakest stages and lines, batch failures."""

    as_of: Optional[str] = None
    first_date: Optional[str] = None
    last_date: Optional[str] = None
    total_calls: int = 0
    connected: int = 0
    mean_adherence: Optional[float] = None
    mean_structure: Optional[float] = None
    share_in_band: Optional[float] = None
    daily_target: tuple[int, int] = DAILY_TARGET
    rows: list[TeamRow] = Field(default_factory=list)
    weakest_stages: list[StageRate] = Field(default_factory=list)
    weakest_lines: list[LineRate] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    meaning_unchecked: int = 0      # connected calls scored by words only (the meaning model could not run)


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------

_FOLD = str.maketrans({"ё": "е", "Ё": "е"})
_WORD_EDGE = re.compile(r"^[\W_]+|[\W_]+$")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.)\s*")


def _fold(text: str) -> str:
    """Lowercase with ё = е, keeping the length so offsets stay valid."""
    folded = text.translate(_FOLD).lower()
    return folded if len(folded) == len(text) else text.translate(_FOLD)


def _mean(values: Iterable[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _date(value: Optional[str]) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _chronological(records: Iterable[CallRecord]) -> list[CallRecord]:
    return sorted(records, key=lambda r: (r.date or "", r.time or "", r.call_id))


def _script_map(scripts: Any) -> dict[str, SalesScript]:
    if scripts is None:
        return {}
    if isinstance(scripts, SalesScript):
        return {scripts.id: scripts}
    if isinstance(scripts, Mapping):
        return {s.id: s for s in scripts.values()}
    return {s.id: s for s in scripts}


def _stage_titles(result: CallResult, script: Optional[SalesScript]) -> dict[str, str]:
    titles = {s.id: (s.title or s.id) for s in result.stages}
    if script is not None:
        titles.update({s.id: (s.title or s.id) for s in script.stages})
    return titles


def _ordered_stages(result: CallResult, script: Optional[SalesScript]) -> list[StageResult]:
    """The result's stages in the script's order (unknown ones keep their place at the end)."""
    if script is None:
        return list(result.stages)
    rank = {s.id: i for i, s in enumerate(script.stages)}
    return sorted(result.stages, key=lambda s: rank.get(s.id, len(rank)))


def _verdict_of(adherence: Optional[float], band: tuple[float, float]) -> Optional[str]:
    if adherence is None:
        return None
    return "below" if adherence < band[0] else ("above" if adherence > band[1] else "within")


# ---------------------------------------------------------------------------------------------------
# Text: locating matched words, word diffs
# ---------------------------------------------------------------------------------------------------

def _widen(text: str, start: int, end: int) -> tuple[int, int]:
    """Grow a span to whole words."""
    while start > 0 and text[start - 1].isalnum():
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    return start, end


def _locate(needle: str, hay: str, min_score: float = 70.0) -> Optional[tuple[int, int]]:
    """Where ``needle`` (as said, maybe re-punctuated) sits in ``hay``: (start, end) or None."""
    n, h = _fold(needle.strip()), _fold(hay)
    if not n or not h:
        return None
    exact = re.search(r"(?<!\w)" + re.escape(n) + r"(?!\w)", h)
    if exact:
        return exact.span()
    if len(n) < 10:  # too short to place by similarity
        return None
    if len(n) > len(h):
        return (0, len(h)) if fuzz.ratio(n[: len(h)], h) >= min_score else None
    found = fuzz.partial_ratio_alignment(n, h)
    if found is None or found.score < min_score:
        return None
    return _widen(hay, found.dest_start, found.dest_end)


def _locate_run(needle: str, segments: Sequence[Segment], turn: int, offset: int = 0) -> list[tuple[int, int, int]]:
    """Spans (turn, start, end) of contiguous words that start at ``turn`` (after ``offset``) and may run on
    into the speaker's next turns."""
    spans: list[tuple[int, int, int]] = []
    rest = _fold(needle.strip())
    speaker = segments[turn].speaker
    i = turn
    while rest and i < len(segments) and len(spans) < 4:
        seg = segments[i]
        if seg.speaker != speaker:
            i += 1
            continue
        skip = offset if i == turn else 0
        text = seg.text[skip:]
        if len(rest) <= len(text) + 2:
            span = _locate(rest, text)
            if span:
                spans.append((i, span[0] + skip, span[1] + skip))
            break
        head = _locate(rest[: len(text)], text)
        if head is None:
            break
        spans.append((i, head[0] + skip, len(text) + skip))
        rest = rest[len(text) - head[0]:].lstrip()
        i += 1
    return spans


def _locate_in_turns(needle: str, segments: Sequence[Segment], turn: int, reach: int = 6) -> list[tuple[int, int, int]]:
    """Spans of a match that starts at ``turn``; the matcher joins pieces said in separate turns with "…"."""
    spans: list[tuple[int, int, int]] = []
    speaker = segments[turn].speaker
    at, after = turn, 0
    for n, part in enumerate(p for p in _ELLIPSIS.split(needle) if p.strip()):
        last = turn if n == 0 else min(len(segments) - 1, at + reach)
        for i in range(at, last + 1):
            if segments[i].speaker != speaker:
                continue
            found = _locate_run(part, segments, i, after if i == at else 0)
            if found:
                spans += found
                at, after = found[-1][0], found[-1][2]
                break
    return spans


def _split_tokens(text: str) -> list[str]:
    return text.split()


def _token_key(token: str) -> str:
    return _WORD_EDGE.sub("", _fold(token))


def _script_pieces(token: str, kind: str) -> list[Piece]:
    """A script token, its placeholders (``{client}``) as their own pieces."""
    out: list[Piece] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(token):
        if m.start() > pos:
            out.append(Piece(text=token[pos:m.start()], kind=kind))
        out.append(Piece(text=m.group(0), kind=("ph " + kind).strip(), placeholder=m.group(1)))
        pos = m.end()
    if pos < len(token):
        out.append(Piece(text=token[pos:], kind=kind))
    return out


def _bare(token: str, kind: str) -> list[Piece]:
    """A highlighted word without its punctuation: «Наталья»!, not «Наталья!»."""
    m = re.match(r"^([\W_]*)(.*?)([\W_]*)$", token)
    head, core, tail = m.groups() if m else ("", token, "")
    if not core:
        return [Piece(text=token, kind=kind)]
    return [p for p in (Piece(text=head), Piece(text=core, kind=kind), Piece(text=tail)) if p.text]


def _join(runs: list[tuple[str, str]], script_side: bool) -> list[Piece]:
    """Tokens with kinds → pieces: neighbours of one kind merge, and so does the space between them."""
    pieces: list[Piece] = []

    def add(piece: Piece) -> None:
        last = pieces[-1] if pieces else None
        if last is not None and last.placeholder is None and piece.placeholder is None and last.kind == piece.kind:
            last.text += piece.text
        else:
            pieces.append(piece)

    prev_kind: Optional[str] = None
    for token, kind in runs:
        if prev_kind is not None:
            joined = kind == prev_kind and pieces[-1].kind == kind and pieces[-1].placeholder is None
            add(Piece(text=" ", kind=kind if joined else ""))
        if script_side and "{" in token:
            parts = _script_pieces(token, kind)
        elif kind in ("name", "extra"):
            parts = _bare(token, kind)
        else:
            parts = [Piece(text=token, kind=kind)]
        for piece in parts:
            add(piece)
        prev_kind = kind
    return pieces


def diff_words(script_text: str, said: Optional[str]) -> tuple[list[Piece], list[Piece]]:
    """Word diff of a script line and what was said.

    Returns (script pieces, said pieces): script words not said are ``miss``, said words not in the
    script ``extra``; a name said where the script has ``{client}`` is ``name``, not a difference.
    Comparison ignores case, punctuation and ё/е.
    """
    a, b = _split_tokens(script_text), _split_tokens(said or "")
    if not b:
        return _join([(t, "miss") for t in a], True), []
    a_keys = [("\x00" + t) if _PLACEHOLDER.search(t) else _token_key(t) for t in a]
    b_keys = [_token_key(t) for t in b]
    a_runs: list[tuple[str, str]] = []
    b_runs: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a_keys, b_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            a_runs += [(t, "") for t in a[i1:i2]]
            b_runs += [(t, "") for t in b[j1:j2]]
            continue
        names = tag == "replace" and all(k.startswith("\x00") for k in a_keys[i1:i2]) and j2 - j1 <= 3 * (i2 - i1)
        # a placeholder is a wildcard for the matcher too: a name not said is no difference
        a_runs += [(t, "" if names or k.startswith("\x00") else "miss") for t, k in zip(a[i1:i2], a_keys[i1:i2])]
        # a name stands for a placeholder; lowercase words around it are still extra words
        b_runs += [(t, "name" if names and t.lstrip("«\"'(")[:1].isupper()
                    else "extra") for t in b[j1:j2]]
    return _join(a_runs, True), _join(b_runs, False)


def _grade(similarity: float, said: bool) -> str:
    if not said:
        return "none"
    return "good" if similarity >= LINE_GOOD else ("fair" if similarity >= LINE_FAIR else "poor")


def _pieces_with_marks(text: str, marks: list[tuple[int, int, str, Optional[str], str]]) -> list[Piece]:
    """Cut a turn's text into pieces at the highlighted spans (overlaps: the earlier span wins)."""
    pieces: list[Piece] = []
    pos = 0
    for start, end, kind, anchor, title in sorted(marks, key=lambda m: (m[0], -m[1])):
        start = max(start, pos)
        if end <= start:
            continue
        if start > pos:
            pieces.append(Piece(text=text[pos:start]))
        pieces.append(Piece(text=text[start:end], kind=kind, anchor=anchor, title=title))
        pos = end
    if pos < len(text):
        pieces.append(Piece(text=text[pos:]))
    return pieces


def _context(text: str, span: Optional[tuple[int, int]], width: int = 70) -> list[Piece]:
    """A forbidden phrase in its sentence: up to ``width`` characters either side, cut at words."""
    if span is None:
        short = text if len(text) <= 2 * width else text[: 2 * width].rsplit(" ", 1)[0] + " …"
        return [Piece(text=short)]
    start, end = span
    left, right = max(0, start - width), min(len(text), end + width)
    if left > 0:
        left = text.find(" ", left, start) + 1 or left
    if right < len(text):
        cut = text.rfind(" ", end, right)
        right = cut if cut > 0 else right
    pieces = []
    if left < start:
        pieces.append(Piece(text=("… " if left > 0 else "") + text[left:start]))
    pieces.append(Piece(text=text[start:end], kind="bad"))
    if end < right or right < len(text):
        pieces.append(Piece(text=text[end:right] + (" …" if right < len(text) else "")))
    return pieces


# ---------------------------------------------------------------------------------------------------
# Call page
# ---------------------------------------------------------------------------------------------------

def _href_for(anchor: Optional[str], turn: Optional[int], n_turns: int) -> Optional[str]:
    if anchor:
        return "#" + anchor
    if turn is not None and 0 <= turn < n_turns:
        return f"#t-{turn}"
    return None


def _audio_href(audio: Optional[str], page_dir: Optional[Path]) -> Optional[str]:
    """A relative URL from the page's folder to the recording."""
    if not audio:
        return None
    path = Path(audio)
    if page_dir is None:
        return quote(path.as_posix())
    try:
        rel = os.path.relpath(path.resolve(), page_dir.resolve())
    except ValueError:  # another drive on Windows
        return path.resolve().as_uri()
    return quote(Path(rel).as_posix())


def _stored_spans(line: LineResult, segments: Sequence[Segment]) -> list[tuple[int, int, int]]:
    """The evidence where the matcher stored it (results scored before spans were stored have none)."""
    span = line.span
    if span is None or not 0 <= span.turn < len(segments):
        return []
    if span.turn_end is None or span.turn_end == span.turn:
        return [(span.turn, span.char_start, span.char_end)]
    if not 0 <= span.turn_end < len(segments):
        return []
    return [(span.turn, span.char_start, len(segments[span.turn].text)), (span.turn_end, 0, span.char_end)]


def _build_lines(stage: StageResult, segments: Sequence[Segment],
                 marks: dict[int, list]) -> list[LineView]:
    lines: list[LineView] = []
    for i, line in enumerate(stage.lines):
        said = bool(line.matched) and line.similarity > 0
        anchor, spoken_text = None, line.matched if said else None
        if said and line.turn is not None and 0 <= line.turn < len(segments):
            spans = _stored_spans(line, segments) or _locate_in_turns(line.matched or "", segments, line.turn)
            for k, (turn, start, end) in enumerate(spans):
                mark_id = f"m-{stage.id}-{i}" if k == 0 else None
                marks[turn].append((start, end, "hit", mark_id, stage.title or stage.id))
            if spans:
                anchor = f"m-{stage.id}-{i}"
                if len(spans) == 1:  # the words as the transcript has them (the matcher may normalise them)
                    t, start, end = spans[0]
                    spoken_text = segments[t].text[start:end]
        if said and line.found.value in ("meaning", "cue"):
            # Said in own words: the words differ from the script by design, so there is nothing to mark.
            script, spoken = _script_pieces(line.text, ""), [Piece(text=spoken_text or "")]
        else:
            script, spoken = diff_words(line.text, spoken_text)
        lines.append(LineView(
            index=i, script=script, said=spoken,
            alternatives=[a for a in line.alternatives if a != line.text],
            similarity=line.similarity, grade=_grade(line.similarity, said),
            start=line.start if said else None, found=line.found.value, meaning=line.meaning,
            href=_href_for(anchor, line.turn if said else None, len(segments)),
        ))
    return lines


def _stage_state(stage: StageResult) -> str:
    if not stage.applies:
        return "na" if stage.required else "optional"
    if stage.present:
        return "ok"
    return "missed" if stage.required else "optional"


def _build_stages(result: CallResult, script: Optional[SalesScript], segments: Sequence[Segment],
                  marks: dict[int, list]) -> tuple[list[StageView], dict[int, list[StageRef]]]:
    titles = _stage_titles(result, script)
    views: list[StageView] = []
    by_turn: dict[int, list[StageRef]] = defaultdict(list)
    for stage in _ordered_stages(result, script):
        title = titles.get(stage.id, stage.id)
        stage = stage.model_copy(update={"title": title})
        lines = _build_lines(stage, segments, marks)
        first = next((ln for ln in lines if ln.href), None)
        turn = stage.turn if stage.turn is not None else None
        if stage.present and turn is not None and 0 <= turn < len(segments):
            by_turn[turn].append(StageRef(id=stage.id, title=title))
        views.append(StageView(
            id=stage.id, title=title, required=stage.required, state=_stage_state(stage),
            score=stage.score, start=stage.start if stage.present else None,
            href=(first.href if first else _href_for(None, turn, len(segments))) if stage.present else None,
            lines=lines,
        ))
    return views, by_turn


def _build_forbidden(result: CallResult, segments: Sequence[Segment],
                     marks: dict[int, list]) -> list[ForbiddenView]:
    views = []
    for k, hit in enumerate(result.forbidden):
        anchor, context = None, []
        if hit.turn is not None and 0 <= hit.turn < len(segments):
            text = segments[hit.turn].text
            span = _locate(hit.matched or hit.phrase, text, min_score=80.0)
            context = _context(text, span)
            if span:
                anchor = f"f-{k}"
                marks[hit.turn].append((*span, "bad", anchor, hit.phrase))
        elif hit.matched:
            context = [Piece(text=hit.matched, kind="bad")]
        views.append(ForbiddenView(phrase=hit.phrase, start=hit.start, context=context,
                                   href=_href_for(anchor, hit.turn, len(segments))))
    return views


def build_call_page(record: CallRecord, script: Optional[SalesScript] = None, *,
                    page_dir: Optional[Path] = None) -> CallPage:
    """The view data of one call's page.

    Args:
        record: the scored call.
        script: the script it was scored against, for stage titles and order (optional).
        page_dir: the folder the page will be written to, so the audio link can be relative.
    """
    result = record.result
    transcript: Optional[Transcript] = record.transcript
    segments = transcript.segments if transcript else []
    marks: dict[int, list] = defaultdict(list)
    stages, stage_turns = _build_stages(result, script, segments, marks)
    forbidden = _build_forbidden(result, segments, marks)
    titles = _stage_titles(result, script)
    turns = [
        TurnView(index=i, anchor=f"t-{i}", speaker=seg.speaker, start=seg.start,
                 pieces=_pieces_with_marks(seg.text, marks.get(i, [])), stages=stage_turns.get(i, []))
        for i, seg in enumerate(segments)
    ]
    band = (float(result.band[0]), float(result.band[1]))
    verdict = result.verdict or _verdict_of(result.adherence, band)
    gap = None
    if result.adherence is not None and verdict == "below":
        gap = band[0] - result.adherence
    elif result.adherence is not None and verdict == "above":
        gap = result.adherence - band[1]
    required = [s for s in result.stages if s.required and s.applies]
    missed = [StageRef(id=v.id, title=v.title) for v in stages if v.state == "missed"]
    return CallPage(
        call_id=record.call_id, file=record.file, manager_name=record.manager_name or record.manager,
        date=record.date, time=record.time,
        duration=result.duration if result.duration is not None else (transcript.duration if transcript else None),
        script_id=result.script_id, script_title=(script.title if script else "") or result.script_title or result.script_id,
        level=record.level or result.level, band=band, connected=result.connected,
        not_connected_reason=result.not_connected_reason, adherence=result.adherence, coverage=result.coverage,
        structure=result.structure, meaning_checked=result.meaning_checked,
        verdict=verdict if result.connected else None, gap=gap,
        required_total=len(required), required_present=sum(1 for s in required if s.present),
        order_ok=result.order_ok, missed=missed, stages=stages, forbidden=forbidden,
        order_violations=[OrderView(stage=titles.get(v.stage, v.stage), before=titles.get(v.before, v.before),
                                    message=v.message) for v in result.order_violations],
        talk=result.talk or (transcript.talk if transcript else None),
        speakers_known=result.speakers_known and (transcript.speakers_known if transcript else True),
        has_transcript=bool(segments), has_times=any(s.start is not None for s in segments),
        turns=turns, audio_href=_audio_href(record.audio, page_dir), notes=list(result.notes),
    )


# ---------------------------------------------------------------------------------------------------
# Aggregates shared by the manager and team pages
# ---------------------------------------------------------------------------------------------------

def _connected(records: Iterable[CallRecord]) -> list[CallRecord]:
    return [r for r in records if r.result.connected]


def _share_in_band(records: Sequence[CallRecord]) -> Optional[float]:
    scored = [r for r in records if r.result.verdict is not None]
    if not scored:
        return None
    return 100.0 * sum(1 for r in scored if r.result.verdict in IN_BAND) / len(scored)


def _period(key: str, records: Sequence[CallRecord], start: Optional[dt.date], end: Optional[dt.date]) -> PeriodStats:
    if start is not None and end is not None:
        records = [r for r in records if (d := _date(r.date)) is not None and start <= d <= end]
    connected = _connected(records)
    days = {r.date for r in connected if r.date}
    return PeriodStats(
        key=key, start=start.isoformat() if start else None, end=end.isoformat() if end else None,
        calls=len(records), connected=len(connected),
        mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
        mean_structure=_mean(r.result.structure for r in connected),
        per_day=len(connected) / len(days) if days else None,
    )


def _periods(records: Sequence[CallRecord], as_of: Optional[dt.date]) -> list[PeriodStats]:
    if as_of is None:
        return [_period("all", records, None, None)]
    return [
        _period("day", records, as_of, as_of),
        _period("week", records, as_of - dt.timedelta(days=6), as_of),
        _period("month", records, as_of - dt.timedelta(days=29), as_of),
        _period("all", records, None, None),
    ]


def _stage_rates(records: Sequence[CallRecord], scripts: Mapping[str, SalesScript]) -> list[StageRate]:
    """Hit rate of each stage over the connected calls where it applies, in script order."""
    applicable: Counter = Counter()
    present: Counter = Counter()
    scores: dict[tuple[str, str], float] = defaultdict(float)
    info: dict[tuple[str, str], tuple[str, bool, str]] = {}
    order: dict[tuple[str, str], tuple[int, int]] = {}
    script_rank: dict[str, int] = {}
    for rec in _connected(records):
        res = rec.result
        script = scripts.get(res.script_id)
        titles = _stage_titles(res, script)
        script_rank.setdefault(res.script_id, len(script_rank))
        rank = {s.id: i for i, s in enumerate(script.stages)} if script else {}
        for n, stage in enumerate(res.stages):
            key = (res.script_id, stage.id)
            info.setdefault(key, (titles.get(stage.id, stage.id), stage.required,
                                  (script.title if script else res.script_title) or res.script_id))
            order.setdefault(key, (script_rank[res.script_id], rank.get(stage.id, 1000 + n)))
            if not stage.applies:
                continue
            applicable[key] += 1
            present[key] += int(stage.present)
            scores[key] += stage.score
    rates = []
    for key in sorted(applicable, key=lambda k: order[k]):
        title, required, script_title = info[key]
        n = applicable[key]
        rates.append(StageRate(id=key[1], title=title, script_title=script_title, required=required,
                               applicable=n, present=present[key], rate=100.0 * present[key] / n,
                               mean_score=scores[key] / n))
    return rates


def _line_rates(records: Sequence[CallRecord], scripts: Mapping[str, SalesScript]) -> list[LineRate]:
    """Mean similarity of each line of each required stage, over the calls where the stage applies."""
    sums: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    texts: dict[tuple[str, str, int], Counter] = defaultdict(Counter)
    titles: dict[tuple[str, str, int], tuple[str, str]] = {}
    for rec in _connected(records):
        res = rec.result
        script = scripts.get(res.script_id)
        stage_titles = _stage_titles(res, script)
        for stage in res.stages:
            if not (stage.required and stage.applies):
                continue
            for i, line in enumerate(stage.lines):
                key = (res.script_id, stage.id, i)
                sums[key].append(line.similarity)
                texts[key][line.text] += 1
                titles.setdefault(key, (stage_titles.get(stage.id, stage.id),
                                        (script.title if script else res.script_title) or res.script_id))
    out = []
    for key, values in sums.items():
        script = scripts.get(key[0])
        stage = next((s for s in script.stages if s.id == key[1]), None) if script else None
        if stage is not None and key[2] < len(stage.lines):
            text = " / ".join(stage.alternatives()[key[2]])
        else:
            text = texts[key].most_common(1)[0][0]
        out.append(LineRate(stage_title=titles[key][0], script_title=titles[key][1], text=text,
                            calls=len(values), mean_similarity=sum(values) / len(values)))
    return out


def _forbidden_counts(records: Sequence[CallRecord]) -> list[PhraseCount]:
    count: Counter = Counter()
    calls: Counter = Counter()
    for rec in records:
        phrases = [hit.phrase for hit in rec.result.forbidden]
        count.update(phrases)
        calls.update(set(phrases))
    return [PhraseCount(phrase=p, count=n, calls=calls[p]) for p, n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))]


def _readiness_view(readiness: Any, titles: Mapping[str, str], min_presence: float = 0.9) -> Optional[ReadinessView]:
    """Plain view of a ``compliance.readiness.Readiness`` (read by attribute, so any same-shaped object works)."""
    if readiness is None:
        return None
    level = getattr(readiness, "level", "") or ""
    ready = getattr(readiness, "ready", None)
    if level == "newcomer":
        state = {True: "ready", False: "not_ready"}.get(ready, "unknown")
    else:
        state = "review" if getattr(readiness, "flagged_for_review", False) else "ok"
    share = getattr(readiness, "share_in_band", None)
    presence = dict(getattr(readiness, "stage_presence", {}) or {})
    below = getattr(readiness, "calls_below", 0)
    return ReadinessView(
        level=level, state=state, window=int(getattr(readiness, "window", 0) or 0),
        calls_considered=int(getattr(readiness, "calls_considered", 0) or 0),
        share_in_band=None if share is None else (share * 100 if share <= 1 else share),
        mean_adherence=getattr(readiness, "mean_adherence", None),
        stages=[(titles.get(sid, sid), p * 100 if p <= 1 else p, p < min_presence if p <= 1 else p < min_presence * 100)
                for sid, p in presence.items()],
        calls_below=len(below) if isinstance(below, (list, tuple, set)) else int(below or 0),
        reasons=[_name_stages(str(r), titles) for r in getattr(readiness, "reasons", []) or []],
    )


def _name_stages(text: str, titles: Mapping[str, str]) -> str:
    """Stage ids quoted in a reason («payment_timing») → their titles, for people."""
    for sid, title in titles.items():
        text = text.replace(f"«{sid}»", f"«{title}»")
    return text


def _all_titles(records: Sequence[CallRecord], scripts: Mapping[str, SalesScript]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for rec in records:
        for stage in rec.result.stages:
            titles.setdefault(stage.id, stage.title or stage.id)
    for script in scripts.values():
        titles.update({s.id: s.title or s.id for s in script.stages})
    return titles


# ---------------------------------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------------------------------

def _day_axis(days: list[dt.date], width: float, left: float, right: float) -> dict[dt.date, float]:
    if len(days) == 1:
        return {days[0]: (left + width - right) / 2}
    span = (days[-1] - days[0]).days or 1
    usable = width - left - right
    return {d: left + usable * (d - days[0]).days / span for d in days}


def _x_labels(xs: dict[dt.date, float], max_labels: int = 8) -> list[tuple[float, str]]:
    days = sorted(xs)
    picked = days[:: max(1, -(-len(days) // max_labels))]
    if picked[-1] != days[-1]:
        if xs[days[-1]] - xs[picked[-1]] < 36:
            picked[-1] = days[-1]
        else:
            picked.append(days[-1])
    return [(xs[d], d.strftime("%d.%m")) for d in picked]


def build_trend_chart(records: Sequence[CallRecord], band: Optional[tuple[float, float]],
                      hrefs: Mapping[str, str] | None = None, *, width: float = 720, height: float = 220,
                      max_days: int = 30) -> Optional[Chart]:
    """Adherence of each connected call (dots) and the daily mean (line) over the last ``max_days`` days with calls."""
    scored = [r for r in _connected(records) if r.result.adherence is not None and _date(r.date)]
    if not scored:
        return None
    days = sorted({_date(r.date) for r in scored})[-max_days:]
    scored = [r for r in scored if _date(r.date) >= days[0]]
    left, right, top, bottom = 34.0, 24.0, 12.0, 24.0
    xs = _day_axis(days, width, left, right)
    ys = lambda v: top + (height - top - bottom) * (1 - max(0.0, min(100.0, v)) / 100)  # noqa: E731
    chart = Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom,
                  y_ticks=[(ys(v), f"{v}") for v in (0, 25, 50, 75, 100)], x_labels=_x_labels(xs))
    if band is not None:
        chart.band_top, chart.band_bottom = ys(band[1]), ys(band[0])
        chart.band_label = f"{band[0]:g}–{band[1]:g}"
    by_day: dict[dt.date, list[CallRecord]] = defaultdict(list)
    for r in scored:
        by_day[_date(r.date)].append(r)
    hrefs = hrefs or {}
    for day in days:
        calls = by_day[day]
        spread = min(10.0, (width - left - right) / max(len(days), 1) / 3)
        for k, r in enumerate(calls):
            dx = 0.0 if len(calls) == 1 else spread * (k / (len(calls) - 1) - 0.5)
            chart.points.append(ChartPoint(
                x=round(xs[day] + dx, 1), y=round(ys(r.result.adherence), 1),
                label=f"{r.date} {(r.time or '')[:5]} — {r.result.adherence:.0f}",
                kind=r.result.verdict or "", href=hrefs.get(r.call_id)))
        mean = sum(r.result.adherence for r in calls) / len(calls)
        chart.line_points.append(ChartPoint(x=round(xs[day], 1), y=round(ys(mean), 1),
                                            label=f"{day.isoformat()}: {mean:.1f}"))
    chart.line = " ".join(f"{p.x},{p.y}" for p in chart.line_points)
    return chart


def build_daily_chart(records: Sequence[CallRecord], target: tuple[int, int] = DAILY_TARGET, *,
                      width: float = 720, height: float = 180, max_days: int = 30) -> Optional[Chart]:
    """Connected calls per day (bars) against the daily target band."""
    per_day: Counter = Counter()
    for r in records:
        day = _date(r.date)
        if day is not None:
            per_day[day] += int(r.result.connected)
    if not per_day:
        return None
    days = sorted(per_day)[-max_days:]
    left, right, top, bottom = 34.0, 24.0, 16.0, 24.0
    top_value = max(target[1] + 5, max(per_day[d] for d in days))
    ys = lambda v: top + (height - top - bottom) * (1 - v / top_value)  # noqa: E731
    slot = (width - left - right) / len(days)
    bar_w = max(4.0, min(28.0, slot * 0.7))
    chart = Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom,
                  band_top=ys(target[1]), band_bottom=ys(target[0]), band_label=f"{target[0]}–{target[1]}",
                  y_ticks=[(ys(v), str(v)) for v in (0, target[0], target[1])])
    step = max(1, -(-len(days) // 10))
    for i, day in enumerate(days):
        n = per_day[day]
        x = left + slot * i + (slot - bar_w) / 2
        kind = "below" if n < target[0] else ("above" if n > target[1] else "within")
        chart.bars.append(ChartBar(x=round(x, 1), y=round(ys(n), 1), width=round(bar_w, 1),
                                   height=round(ys(0) - ys(n), 1), value=n, label=day.strftime("%d.%m"), kind=kind))
        if i % step == 0 or i == len(days) - 1:
            chart.x_labels.append((round(x + bar_w / 2, 1), day.strftime("%d.%m")))
    return chart


def build_sparkline(records: Sequence[CallRecord], band: Optional[tuple[float, float]], *,
                    width: float = 120, height: float = 28, max_days: int = 14) -> Optional[Chart]:
    """Daily mean adherence over the last ``max_days`` days with calls, as a tiny line."""
    by_day: dict[dt.date, list[float]] = defaultdict(list)
    for r in _connected(records):
        day = _date(r.date)
        if day is not None and r.result.adherence is not None:
            by_day[day].append(r.result.adherence)
    if not by_day:
        return None
    days = sorted(by_day)[-max_days:]
    means = {d: sum(by_day[d]) / len(by_day[d]) for d in days}
    # Scaled to the values and the band (not 0–100), so a few points' change is visible.
    lo = max(0.0, min([*means.values(), *(band[:1] if band else ())]) - 5)
    hi = min(100.0, max([*means.values(), *(band[1:] if band else ())]) + 5)
    pad = 3.0
    xs = _day_axis(days, width, pad, pad)
    ys = lambda v: pad + (height - 2 * pad) * (1 - (max(lo, min(hi, v)) - lo) / ((hi - lo) or 1))  # noqa: E731
    chart = Chart(width=width, height=height, left=pad, right=pad, top=pad, bottom=pad)
    if band is not None:
        chart.band_top, chart.band_bottom = ys(band[1]), ys(band[0])
    for day in days:
        chart.line_points.append(ChartPoint(x=round(xs[day], 1), y=round(ys(means[day]), 1),
                                            label=f"{day.strftime('%d.%m')}: {means[day]:.0f}"))
    chart.line = " ".join(f"{p.x},{p.y}" for p in chart.line_points)
    return chart


def _delta(records: Sequence[CallRecord], as_of: Optional[dt.date]) -> Optional[float]:
    if as_of is None:
        return None
    recent, before = [], []
    for r in _connected(records):
        day = _date(r.date)
        if day is None or r.result.adherence is None:
            continue
        age = (as_of - day).days
        if 0 <= age < 7:
            recent.append(r.result.adherence)
        elif 7 <= age < 14:
            before.append(r.result.adherence)
    if not recent or not before:
        return None
    return sum(recent) / len(recent) - sum(before) / len(before)


# ---------------------------------------------------------------------------------------------------
# Manager and team pages
# ---------------------------------------------------------------------------------------------------

def _call_row(record: CallRecord, href: str, titles: Mapping[str, str], scripts: Mapping[str, SalesScript]) -> CallRow:
    res = record.result
    script = scripts.get(res.script_id)
    names = _stage_titles(res, script)
    return CallRow(
        href=href, date=record.date, time=record.time,
        duration=res.duration if res.duration is not None else (record.transcript.duration if record.transcript else None),
        script_title=(script.title if script else res.script_title) or res.script_id,
        connected=res.connected, reason=res.not_connected_reason, adherence=res.adherence, coverage=res.coverage,
        structure=res.structure, verdict=res.verdict if res.connected else None,
        missed=[names.get(s.id, s.id) for s in _ordered_stages(res, script)
                if s.required and s.applies and not s.present] if res.connected else [],
        forbidden=len(res.forbidden),
    )


def _latest(records: Sequence[CallRecord]) -> Optional[CallRecord]:
    ordered = _chronological(records)
    return ordered[-1] if ordered else None


def build_manager_page(records: Sequence[CallRecord], *, slug: str, call_hrefs: Mapping[str, str],
                       readiness: Any = None, scripts: Any = None, as_of: Optional[dt.date] = None,
                       daily_target: tuple[int, int] = DAILY_TARGET) -> ManagerPage:
    """The view data of one manager's page.

    Args:
        records: that manager's calls only.
        slug: the manager's folder name.
        call_hrefs: call id → link to its page, relative to the manager's folder.
        readiness: that manager's ``Readiness`` (or None).
        as_of: the day "today" means for the day/week/month figures (default: the latest call's date).
    """
    scripts = _script_map(scripts)
    ordered = _chronological(records)
    if not ordered:
        return ManagerPage(name=slug, slug=slug, level="", periods=[])
    latest = ordered[-1]
    dates = sorted({d for r in ordered if (d := _date(r.date))})
    as_of = as_of or (dates[-1] if dates else None)
    band = (float(latest.result.band[0]), float(latest.result.band[1]))
    titles = _all_titles(ordered, scripts)
    groups: dict[Optional[str], list[CallRecord]] = defaultdict(list)
    for r in reversed(ordered):
        groups[r.date].append(r)
    days = [DayGroup(date=d, connected=len(_connected(calls)),
                     calls=[_call_row(r, call_hrefs[r.call_id], titles, scripts) for r in calls])
            for d, calls in sorted(groups.items(), key=lambda kv: kv[0] or "", reverse=True)]
    return ManagerPage(
        name=latest.manager_name or latest.manager, slug=slug, level=latest.level or "", band=band,
        as_of=as_of.isoformat() if as_of else None,
        first_date=dates[0].isoformat() if dates else None, last_date=dates[-1].isoformat() if dates else None,
        periods=_periods(ordered, as_of), trend=build_trend_chart(ordered, band, call_hrefs),
        daily=build_daily_chart(ordered, daily_target), daily_target=daily_target,
        stages=_stage_rates(ordered, scripts), forbidden=_forbidden_counts(ordered),
        readiness=_readiness_view(readiness, titles), days=days, total_calls=len(ordered),
        meaning_unchecked=_meaning_unchecked(ordered),
    )


def _meaning_unchecked(records: Iterable[CallRecord]) -> int:
    return sum(1 for r in _connected(records) if not r.result.meaning_checked)


def _failure(item: Any) -> Failure:
    if isinstance(item, Failure):
        return item
    if isinstance(item, Mapping):
        return Failure(file=str(item.get("file", "")), reason=str(item.get("reason") or item.get("error") or ""))
    if isinstance(item, (tuple, list)) and len(item) >= 2:
        return Failure(file=str(item[0]), reason=str(item[1]))
    file = getattr(item, "file", None) or getattr(item, "path", "")
    reason = getattr(item, "reason", None) or getattr(item, "error", None) or getattr(item, "message", "")
    return Failure(file=str(file), reason=str(reason))


def build_team_page(records: Sequence[CallRecord], *, manager_hrefs: Mapping[str, str],
                    readiness: Optional[Mapping[str, Any]] = None, failures: Iterable[Any] = (),
                    scripts: Any = None, as_of: Optional[dt.date] = None,
                    daily_target: tuple[int, int] = DAILY_TARGET, weakest: int = 5) -> TeamPage:
    """The view data of the team overview.

    Args:
        records: every manager's calls.
        manager_hrefs: manager key → link to their page.
        readiness: manager key → ``Readiness``.
        failures: the last batch's failures, as (file, reason) pairs or objects with ``file``/``reason``.
    """
    scripts = _script_map(scripts)
    readiness = readiness or {}
    dates = sorted({d for r in records if (d := _date(r.date))})
    as_of = as_of or (dates[-1] if dates else None)
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    titles = _all_titles(records, scripts)
    rows = []
    for key, calls in by_manager.items():
        latest = _latest(calls)
        band = (float(latest.result.band[0]), float(latest.result.band[1]))
        connected = _connected(calls)
        rows.append(TeamRow(
            name=latest.manager_name or latest.manager, href=manager_hrefs[key], level=latest.level or "",
            calls=len(calls), connected=len(connected),
            today_connected=sum(1 for r in connected if as_of and _date(r.date) == as_of),
            mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
            mean_structure=_mean(r.result.structure for r in connected), band=band, spark=build_sparkline(calls, band), delta=_delta(calls, as_of),
            readiness=_readiness_view(readiness.get(key), titles),
        ))
    rows.sort(key=lambda row: (row.level != "newcomer", row.name.lower()))
    connected = _connected(records)
    stage_rates = [s for s in _stage_rates(records, scripts) if s.required]
    return TeamPage(
        as_of=as_of.isoformat() if as_of else None,
        first_date=dates[0].isoformat() if dates else None, last_date=dates[-1].isoformat() if dates else None,
        total_calls=len(records), connected=len(connected),
        mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
        mean_structure=_mean(r.result.structure for r in connected), daily_target=daily_target, rows=rows,
        weakest_stages=sorted(stage_rates, key=lambda s: (s.rate, s.mean_score))[:weakest],
        weakest_lines=sorted(_line_rates(records, scripts), key=lambda ln: ln.mean_similarity)[:weakest],
        failures=[_failure(f) for f in failures], meaning_unchecked=_meaning_unchecked(records),
    )


# ---------------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------------

def make_environment(lang: str = "ru", template_dir: str | Path | None = None, *,
                     generated_at: Optional[str] = None, version: str = __version__) -> jinja2.Environment:
    """A Jinja environment over the packaged templates, with ``template_dir`` (if given) taking precedence.

    Autoescaping is always on: transcripts and names are untrusted text.

    Raises:
        ReportError: unknown language, or ``template_dir`` is not a folder.
    """
    if lang not in LANGUAGES:
        raise ReportError(f"unknown report language {lang!r} (known: {', '.join(LANGUAGES)})")
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise ReportError(f"{template_dir}: template folder not found; pass an existing folder to --template-dir")
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(resource_dir("reports_templates"))))
    env = jinja2.Environment(loader=jinja2.ChoiceLoader(loaders), autoescape=True, trim_blocks=True,
                             lstrip_blocks=True, undefined=jinja2.StrictUndefined)
    tr = Translator(lang)
    env.globals.update(
        _=tr, tr=tr, lang=lang, version=version, daily_target=DAILY_TARGET,
        generated_at=generated_at or dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )
    env.filters.update(
        pct=tr.percent, num=tr.number, clock=tr.clock, dur=tr.duration, date_long=tr.date_long,
        date_short=tr.date_short, plural=tr.plural, signed=tr.signed, script_text=tr.script_text,
    )
    return env


def _render(env: jinja2.Environment, name: str, **context: Any) -> str:
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateError as exc:
        where = f"{exc.filename}:{exc.lineno}: " if getattr(exc, "lineno", None) else ""  # type: ignore[attr-defined]
        raise ReportError(f"template {name}: {where}{exc}") from exc


def render_call_page(page: CallPage, env: jinja2.Environment) -> str:
    """The HTML of one call's page."""
    return _render(env, "call.html.j2", page=page)


def render_manager_page(page: ManagerPage, env: jinja2.Environment) -> str:
    """The HTML of one manager's page."""
    return _render(env, "manager.html.j2", page=page)


def render_team_page(page: TeamPage, env: jinja2.Environment) -> str:
    """The HTML of the team overview."""
    return _render(env, "team.html.j2", page=page)


# ---------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------

def _call_slugs(records: Sequence[CallRecord]) -> dict[str, str]:
    """call id → page file stem: ``2026-11-27_10-15-02`` (date and time), unique within the set."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for r in _chronological(records):
        base = slugify("_".join(p for p in (r.date, (r.time or "").replace(":", "-")) if p), "call")
        if base == "call":
            base = slugify(f"call-{r.call_id[:12]}", "call")
        stem, n = base, 1
        while stem in taken:
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem)
        stems[r.call_id] = stem
    return stems


def _readiness_map(readiness: Any, by_manager: Mapping[str, list[CallRecord]]) -> dict[str, Any]:
    if readiness is None:
        from .readiness import assess_readiness

        out = {}
        for key, calls in by_manager.items():
            latest = _latest(calls)
            out[key] = assess_readiness(calls, latest.level or "newcomer")
        return out
    if isinstance(readiness, Mapping):
        return dict(readiness)
    return {r.manager: r for r in readiness}


def _write_set(root: Path, records: Sequence[CallRecord], readiness: Mapping[str, Any], failures: Iterable[Any],
               scripts: Mapping[str, SalesScript], env: jinja2.Environment, as_of: Optional[dt.date],
               copy_audio: bool = False) -> None:
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    slugs = unique_slugs(by_manager, fallback="manager")
    for key, calls in by_manager.items():
        folder = root / "managers" / slugs[key]
        (folder / "calls").mkdir(parents=True)
        stems = _call_slugs(calls)
        ordered = _chronological(calls)
        for i, rec in enumerate(ordered):
            page = build_call_page(rec, scripts.get(rec.result.script_id), page_dir=folder / "calls")
            page.back_href = "../index.html"
            page.prev_href = f"{stems[ordered[i - 1].call_id]}.html" if i > 0 else None
            page.next_href = f"{stems[ordered[i + 1].call_id]}.html" if i + 1 < len(ordered) else None
            if copy_audio and page.audio_href:
                page.audio_href = _copy_recording(rec, folder / "audio", stems[rec.call_id]) or page.audio_href
            (folder / "calls" / f"{stems[rec.call_id]}.html").write_text(render_call_page(page, env), encoding="utf-8")
        page = build_manager_page(calls, slug=slugs[key], call_hrefs={c: f"calls/{s}.html" for c, s in stems.items()},
                                  readiness=readiness.get(key), scripts=scripts, as_of=as_of)
        (folder / "index.html").write_text(render_manager_page(page, env), encoding="utf-8")
    team = build_team_page(records, manager_hrefs={k: f"managers/{s}/index.html" for k, s in slugs.items()},
                           readiness=readiness, failures=failures, scripts=scripts, as_of=as_of)
    (root / "index.html").write_text(render_team_page(team, env), encoding="utf-8")
    (root / MARKER).write_text("call-compliance report set; this folder is replaced on every run\n", encoding="utf-8")


def _copy_recording(record: CallRecord, audio_dir: Path, stem: str) -> Optional[str]:
    """Copy a call's recording next to its page; the link from the call page, or None when it is missing."""
    source = Path(record.audio or "")
    if not source.is_file():
        return None
    audio_dir.mkdir(exist_ok=True)
    target = audio_dir / f"{stem}{source.suffix.lower()}"
    shutil.copy2(source, target)
    return f"../audio/{quote(target.name)}"


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    return rc == 0


def _check_target(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ReportError(f"{out_dir}: exists and is not a folder; choose another --out")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ReportError(f"{out_dir}: folder is not empty and holds no earlier reports; "
                          "choose a new or empty folder for --out (it is replaced on every run)")


def _replace(tmp: Path, out_dir: Path) -> None:
    """Put the finished set at ``out_dir``: atomically where the OS can swap folders."""
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    if _exchange(tmp, out_dir):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old set
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, old / "set")
    os.rename(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _clean_leftovers(out_dir: Path) -> None:
    """Remove temporary folders an interrupted earlier run left beside ``out_dir``."""
    for prefix in (f".{out_dir.name}.tmp-", f".{out_dir.name}.old-"):
        for path in out_dir.parent.glob(prefix + "*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def write_reports(out_dir: str | Path, records: Sequence[CallRecord], *, readiness: Any = None,
                  failures: Iterable[Any] = (), scripts: Any = None, lang: str = "ru",
                  template_dir: str | Path | None = None, as_of: Optional[dt.date] = None,
                  generated_at: Optional[str] = None, copy_audio: bool = False) -> Path:
    """Write the whole report set (team overview, manager pages, call pages) to ``out_dir``.

    The set is rendered into a temporary sibling folder and then swapped in, so an interrupted run
    leaves the previous set (or nothing), never half of one. ``out_dir`` must be new, empty, or an
    earlier report set: it is replaced as a whole.

    Args:
        records: the calls to report on (any managers, any order).
        readiness: manager key → ``Readiness`` (or a list of them); None computes it with
            ``assess_readiness`` defaults; ``{}`` shows none.
        failures: the last batch's failures, as (file, reason) pairs or objects with ``file``/``reason``.
        scripts: the ``SalesScript``\\ s the calls were scored with (stage titles and order), by id or as a list.
        lang: ``ru`` or ``en``.
        template_dir: a folder whose templates override the packaged ones.
        as_of: the day "today" means (default: the latest call's date).
        generated_at: the time shown in the footer (default: now).
        copy_audio: copy each recording into its manager's folder (``audio/``), so that a folder sent to
            the manager alone still plays the calls.

    Returns:
        The path of the team overview, ``out_dir/index.html``.

    Raises:
        ReportError: bad options, a template error, or the folder cannot be written.
    """
    out_dir = Path(out_dir).absolute()
    env = make_environment(lang, template_dir, generated_at=generated_at)
    records = list(records)
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    script_map = _script_map(scripts)
    readiness_map = _readiness_map(readiness, by_manager)
    _check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(out_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise ReportError(f"{out_dir}: cannot write reports there ({exc.strerror})") from None
    try:
        _write_set(tmp, records, readiness_map, failures, script_map, env, as_of, copy_audio)
        os.chmod(tmp, 0o755)
        _replace(tmp, out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ReportError(f"{out_dir}: cannot write reports ({exc.strerror or exc})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "index.html"


def write_reports_from_store(store: Any, out_dir: str | Path, since: str | dt.date | None = None,
                             until: str | dt.date | None = None, manager: Optional[str] = None, *,
                             team: Any = None, **options: Any) -> Path:
    """Write reports from history: the calls in [since, until] (inclusive ISO dates), optionally of one manager.

    Readiness is judged on each manager's whole history at their roster level (``team``, a
    ``compliance.team.Team``), the failures shown are those of the store's last batch, and stage titles
    come from the bundled scripts, unless ``options`` (passed on to :func:`write_reports`) say otherwise.

    Raises:
        ReportError: no calls match; or what :func:`write_reports` raises.
    """
    records = store.calls(since=since, until=until, manager=manager)
    if not records:
        what = f" of manager {manager!r}" if manager else ""
        when = f" between {since or '…'} and {until or '…'}" if (since or until) else ""
        raise ReportError(f"no calls{what}{when} in the history; run `compliance batch` first or widen the dates")
    if "readiness" not in options:
        options["readiness"] = _store_readiness(store, {r.manager for r in records}, team)
    if "failures" not in options:
        options["failures"] = _last_failures(store)
    if "scripts" not in options:
        options["scripts"] = bundled_scripts()
    return write_reports(out_dir, records, **options)


def _store_readiness(store: Any, keys: Iterable[str], team: Any = None) -> dict[str, Any]:
    """Each manager's readiness over their whole history, at their roster level (else their latest call's)."""
    from .readiness import assess_readiness

    out = {}
    for key in sorted(keys):
        history = store.calls(manager=key, with_transcripts=False)
        roster = team.get(key) if team is not None else None
        latest = _latest(history)
        level = roster.level if roster else ((latest.level if latest else None) or "newcomer")
        out[key] = assess_readiness([r for r in history if r.level == level], level, manager=key,
                                    manager_name=(roster.name if roster else None) or None)
    return out


def _last_failures(store: Any) -> list[Any]:
    last = store.last_batch()
    if last is None:
        return []
    batch_id = getattr(last, "batch_id", None) or getattr(last, "id", None)
    if batch_id is None and isinstance(last, Mapping):
        batch_id = last.get("batch_id") or last.get("id")
    if batch_id is None and isinstance(last, (str, int)):
        batch_id = last
    return list(store.failures(batch_id))


def bundled_scripts() -> dict[str, SalesScript]:
    """The scripts shipped in ``scripts_yaml/`` (for stage titles), skipping any that do not load."""
    from .script import load_script

    out: dict[str, SalesScript] = {}
    for path in sorted(resource_dir("scripts_yaml").glob("*.yaml")):
        try:
            script = load_script(path)
        except ComplianceError:
            continue
        out[script.id] = script
    return out
