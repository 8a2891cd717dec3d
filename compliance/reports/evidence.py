"""Evidence in the transcript: where a line was said (stored span, else found again), and word-level diffs of script vs speech."""
from __future__ import annotations

import difflib
import re
from typing import Optional, Sequence

from rapidfuzz import fuzz

from compliance.scoring.result import LineResult
from compliance.scoring.transcript import Segment

from .common import LINE_FAIR, LINE_GOOD, _fold
from .views import Piece

_WORD_EDGE = re.compile(r"^[\W_]+|[\W_]+$")


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


_ELLIPSIS = re.compile(r"\s*(?:…|\.\.\.)\s*")


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
    """Cut a turn's text into pieces at the highlighted spans (overlaps: the earlier span wins; a span swallowed
    by an earlier one keeps its anchor as an empty mark, so every link to it still lands)."""
    pieces: list[Piece] = []
    pos = 0
    for start, end, kind, anchor, title in sorted(marks, key=lambda m: (m[0], -m[1])):
        start = max(start, pos)
        if end <= start:
            if anchor:
                pieces.append(Piece(text="", kind=kind, anchor=anchor, title=title))
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
