"""Recognition confidence in the score: a poorly recognised call is flagged for the lead, not given a silent verdict.

``review_recognition`` runs after scoring. It copies the transcript's recognition quality into the result and
(1) flags the call ``poor_recognition`` when the manager's channel is rated poor (``quality.rate_channel``);
(2) marks uncertain a stage whose only evidence lies in words the recogniser was unsure of (or, on a poorly
recognised call, a required stage not found), and a forbidden phrase heard only in such words: it is shown, not
charged, until the lead confirms it. The evidence's words are found through its span (turn, character offsets):
a recognised turn's text is its words joined by spaces.
"""
from __future__ import annotations

from typing import Optional

from compliance.messages import Message
from compliance.scoring.quality import LOW_PROBABILITY
from compliance.scoring.result import CallResult, Found, ReviewFlag, Span, StageResult
from compliance.scoring.transcript import Segment, Transcript, Word

POOR_RECOGNITION = "poor_recognition"


def words_in(segment: Segment, char_start: int, char_end: int) -> list[Word]:
    """The words of a recognised turn that overlap ``[char_start, char_end)`` of its text (none for a typed turn,
    whose words are not known)."""
    if not segment.words or " ".join(w.word for w in segment.words) != segment.text:
        return []
    out, at = [], 0
    for w in segment.words:
        end = at + len(w.word)
        if end > char_start and at < char_end:
            out.append(w)
        at = end + 1
    return out


def _span_words(transcript: Transcript, span: Span) -> list[Word]:
    segments = transcript.segments
    last = span.turn_end if span.turn_end is not None else span.turn
    if not 0 <= span.turn <= last < len(segments):
        return []
    if last == span.turn:
        return words_in(segments[span.turn], span.char_start, span.char_end)
    words = words_in(segments[span.turn], span.char_start, len(segments[span.turn].text))
    for t in range(span.turn + 1, last):
        words += segments[t].words
    return words + words_in(segments[last], 0, span.char_end)


def unsure(words: list[Word]) -> Optional[bool]:
    """Whether the recogniser was unsure of these words (their mean probability below LOW_PROBABILITY); None when
    their probabilities are not known."""
    known = [w.probability for w in words if w.probability is not None]
    return sum(known) / len(known) < LOW_PROBABILITY if known else None


def _stage_uncertain(stage: StageResult, transcript: Transcript, poor: bool) -> bool:
    if stage.override is not None or not stage.applies:
        return False
    if not stage.present:
        return poor and stage.required
    said = [line for line in stage.lines if line.found is not Found.ABSENT and line.span is not None]
    verdicts = [unsure(_span_words(transcript, line.span)) for line in said if line.span is not None]
    return bool(verdicts) and all(v is True for v in verdicts)


def _forbidden_uncertain(transcript: Transcript, turn: Optional[int], matched: str, start: Optional[float]) -> bool:
    if turn is None or not 0 <= turn < len(transcript.segments):
        return False
    segment = transcript.segments[turn]
    at = segment.text.find(matched)
    if start is not None and segment.words:  # the same words may recur in a turn: the one said at ``start``
        timed = [w for w in segment.words if w.start is not None and w.start >= start - 0.01]
        words = timed[:max(len(matched.split()), 1)]
    else:
        words = words_in(segment, at, at + len(matched)) if at >= 0 else []
    return unsure(words) is True


def review_recognition(result: CallResult, transcript: Transcript) -> None:
    """Carry the recognition quality into ``result``; flag a poorly recognised call; mark uncertain evidence."""
    result.quality = transcript.quality
    poor = transcript.quality is not None and transcript.quality.rating == "poor"
    if poor and not any(f.code == POOR_RECOGNITION for f in result.flags):
        manager = next((q for q in transcript.quality.channels if q.speaker == "manager"), None) \
            if transcript.quality else None
        detail = f"low-confidence words {manager.low_confidence:.0%}" if manager else ""
        result.flags.append(ReviewFlag(code=POOR_RECOGNITION, detail=detail))
        result.messages.append(Message(code=POOR_RECOGNITION))
    if not result.connected:
        return
    for stage in result.stages:
        stage.uncertain = _stage_uncertain(stage, transcript, poor)
    for hit in result.forbidden:
        hit.uncertain = _forbidden_uncertain(transcript, hit.turn, hit.matched, hit.start)
