"""Turns and sentences of the manager's speech: what one piece of evidence may span, and what counts as said.

A *turn* is the manager speaking without the client in between: recognition may cut it into several segments,
but a client's word ends it. Evidence never runs over two turns. A sentence the manager left unfinished when
the client cut in («Подскажите, когда вы планируете внести…» — and the client speaks) was not said. Evidence is
shown as the manager's whole sentence, with the time it starts.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from compliance.scoring.embeddings import split_sentences
from compliance.scoring.transcript import Segment

# A turn that stops on these was cut off (a trailing ellipsis or dash), not finished.
_CUT_OFF = re.compile(r"(?:…|\.\.\.|[-–—])\s*$")


def turn_ids(segments: Sequence[Segment], speakers: set[str]) -> list[int]:
    """For every segment, the number of the turn it belongs to: consecutive segments of the counted speakers
    form one turn, and any other speaker's segment between them starts a new one."""
    ids, turn, inside = [], -1, False
    for seg in segments:
        counted = seg.speaker in speakers
        if counted and not inside:
            turn += 1
        inside = counted
        ids.append(turn if counted else -1)
    return ids


def cut_off_from(segments: Sequence[Segment], index: int, speakers: set[str]) -> Optional[int]:
    """Where the unfinished last sentence of a segment begins, when the speaker was cut off there (the text
    ends on «…» or a dash and the next segment is the other side's, or there is none); else None."""
    seg = segments[index]
    if not _CUT_OFF.search(seg.text):
        return None
    following = segments[index + 1] if index + 1 < len(segments) else None
    if following is not None and following.speaker in speakers:
        return None  # the manager goes on: a pause, not an interruption
    sentences = split_sentences(seg.text, index)
    return sentences[-1].char_start if sentences else 0


def sentence_bounds(text: str, char_start: int, char_end: int) -> tuple[int, int]:
    """The character range of the whole sentence(s) of ``text`` that hold ``char_start``..``char_end``."""
    begin, end = char_start, char_end
    for sentence in split_sentences(text, 0):
        if sentence.char_start <= char_start < sentence.char_end + 1:
            begin = min(begin, sentence.char_start)
        if sentence.char_start < char_end <= sentence.char_end + 1:
            end = max(end, sentence.char_end)
    return begin, end


def time_at(seg: Segment, char: int) -> Optional[float]:
    """When the word at this character offset of a segment was said (word times, else a proportional guess)."""
    if seg.words and any(w.start is not None for w in seg.words):
        cursor, at_time = 0, seg.start
        lowered = seg.text.lower()
        for w in seg.words:
            word = w.word.strip().lower()
            at = lowered.find(word, cursor) if word else -1
            if at < 0:
                continue
            if at > char:
                break
            cursor, at_time = at + len(word), w.start if w.start is not None else at_time
        return at_time
    if seg.start is None:
        return None
    span = (seg.end - seg.start) if seg.end is not None else 0.0
    return round(seg.start + span * char / max(len(seg.text), 1), 2)
