"""One call's page: stages, lines with their evidence, forbidden phrases, the marked-up transcript."""
from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Optional, Sequence
from urllib.parse import quote

from compliance.files import shown_name
from compliance.messages import Message
from compliance.scoring.result import CallRecord, CallResult, StageResult, branch_taken
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Segment, Transcript
from compliance.text.formats import message_time

from .common import _ordered_stages, _stage_titles, _verdict_of
from .evidence import (
    _context,
    _grade,
    _locate,
    _locate_in_turns,
    _pieces_with_marks,
    _script_pieces,
    _stored_spans,
    diff_words,
)
from .views import (
    CallPage,
    ForbiddenView,
    LineView,
    OrderView,
    Piece,
    QualityView,
    StageRef,
    StageView,
    TurnView,
)


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
            href=_href_for(anchor, line.turn if said else None, len(segments)), override=line.override,
            text=line.text,
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
    excused = {x: titles.get(b.id, b.id) for b in result.taken_branches for x in b.excludes}
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
            lines=lines, override=stage.override, notes=list(stage.notes), uncertain=stage.uncertain,
            branch=("taken" if branch_taken(stage) else "not_taken")
            if stage.excludes and (stage.present or stage.override) else None,
            excused_by=excused.get(stage.id) if not stage.applies else None,
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
        views.append(ForbiddenView(phrase=hit.phrase, start=hit.start, context=context, severity=hit.severity,
                                   href=_href_for(anchor, hit.turn, len(segments)), uncertain=hit.uncertain))
    return views


def _quality_channels(result: CallResult) -> list[QualityView]:
    if result.quality is None:
        return []
    return [QualityView(speaker=q.speaker, rating=q.rating, low_confidence=round(100 * q.low_confidence, 1),
                        snr_db=q.snr_db, background_words=q.background_words) for q in result.quality.channels]


def _free_notes(result: CallResult) -> list[str]:
    """Notes that no message code stands for (written by an older version): shown as they are."""
    coded = {m.text("ru") for m in result.messages}
    return [n for n in result.notes if n not in coded]


def _notes_besides_flags(result: CallResult) -> list[Message]:
    """The call's notes, less what has a line of its own: meaning not checked, and a note that says no more than a
    flag shown above it (the same code without values: «запись плохо распознана» was shown twice)."""
    flagged = {f.code for f in result.flags}
    return [m for m in result.messages
            if m.code != "meaning_not_checked" and not (m.code in flagged and not m.params)]


def _at(result: CallResult, start: Optional[float]) -> Optional[str]:
    """A chat message's own time, as its turn shows it (None for a call)."""
    if result.chat is None or not result.chat.started or start is None:
        return None
    return message_time(result.chat.started, start)


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
        TurnView(index=i, anchor=f"t-{i}", speaker=seg.speaker, start=seg.start, at=_at(result, seg.start),
                 pieces=_pieces_with_marks(seg.text, marks.get(i, [])), stages=stage_turns.get(i, []))
        for i, seg in enumerate(segments)
    ]
    band = (float(result.band[0]), float(result.band[1]))
    verdict = result.verdict or _verdict_of(result.adherence, band)
    gap = None  # how far the adherence is outside the band; none when something else put the call there
    if result.adherence is not None and verdict == "below" and result.adherence < band[0]:
        gap = band[0] - result.adherence
    elif result.adherence is not None and verdict == "above" and result.adherence > band[1]:
        gap = result.adherence - band[1]
    required = [s for s in result.stages if s.required and s.applies]
    missed = [StageRef(id=v.id, title=v.title) for v in stages if v.state == "missed"]
    return CallPage(
        call_id=record.call_id, file=shown_name(record.file), manager_name=record.manager_name or record.manager,
        date=record.date, time=record.time,
        duration=result.duration if result.duration is not None else (transcript.duration if transcript else None),
        script_id=result.script_id, script_title=(script.title if script else "") or result.script_title or result.script_id,
        level=record.level or result.level, band=band, connected=result.connected,
        not_connected_reason=result.not_connected or result.not_connected_reason,
        adherence=result.adherence, coverage=result.coverage,
        structure=result.structure, meaning_checked=result.meaning_checked,
        machine_adherence=record.machine.adherence if record.machine else None,
        machine_coverage=record.machine.coverage if record.machine else None,
        verdict=verdict if result.connected else None, gap=gap,
        required_total=len(required), required_present=sum(1 for s in required if s.present),
        order_ok=result.order_ok, missed=missed, stages=stages, forbidden=forbidden,
        order_violations=[OrderView(stage=titles.get(v.stage, v.stage), before=titles.get(v.before, v.before),
                                    message=v.message) for v in result.order_violations],
        talk=result.talk or (transcript.talk if transcript else None), chat=result.chat,
        speakers_known=result.speakers_known and (transcript.speakers_known if transcript else True),
        has_transcript=bool(segments), has_times=any(s.start is not None for s in segments),
        turns=turns, audio_href=_audio_href(record.audio, page_dir), notes=_free_notes(result),
        messages=_notes_besides_flags(result),
        verdict_notes=result.verdict_notes if result.connected else [],
        flags=[Message(code=f.code) for f in result.flags],
        mono_split=result.parties is not None,
        quality=result.quality.rating if result.quality else None, quality_channels=_quality_channels(result),
    )
