"""The word matcher: finds script lines by their words, and forbidden phrases.

How a line is found: the manager's speech becomes a stream of normalised tokens (lemmas and stems, fillers
dropped). Every script token is compared with every distinct spoken token at once (RapidFuzz ``cdist``) and
the similarity becomes a credit in [0, 1]. A line is located by sliding a window a little wider than the line
along the stream; the window's score is the weighted share of the line's tokens it contains (content words
weigh more than pronouns and particles). The best window is the evidence. A window never runs over two
turns (``turns.turn_ids``): a client's word between two manager phrases keeps them apart. A line the manager
negated («мы не можем это сделать») is not said, and a negated line («не наш профиль») needs its negation. A
sentence the client cut off and the manager abandoned is not said. Paraphrase cues (short set phrases of the
script) mark a line said in own words. The evidence shown is the manager's whole sentence, with its start time.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np
import yaml
from rapidfuzz import fuzz, process

from compliance.resources import lexicon_path
from compliance.scoring.result import ForbiddenHit, Found, Span
from compliance.scoring.scorer import CallText, LineEvidence, MatchOptions
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Segment
from compliance.scoring.turns import cut_off_from, sentence_bounds, time_at, turn_ids
from compliance.text.normalize import (
    FUNCTION_WEIGHT,
    PLACEHOLDER_WORD,
    Token,
    analyse_word,
    fold,
    is_modifier,
    join_split,
    tokenize,
)

_PLACEHOLDER = re.compile(r"\{(?:client|manager|company)\}")
_CONCEPTS_FILE = lexicon_path("concepts.ru.yaml")


@lru_cache(maxsize=1)
def _concepts() -> dict[str, str]:
    """Lemma → concept: words a manager uses for the same thing (matched as one inside cues)."""
    groups = yaml.safe_load(_CONCEPTS_FILE.read_text(encoding="utf-8"))
    return {analyse_word(fold(word))[0]: f"~{name}" for name, words in groups.items() for word in words}
_PRONOUNS = frozenset({"я", "мы", "вы", "ты", "он", "она", "они", "оно"})
_NEGATIONS = frozenset({"не", "ни"})
_SHORT_WORD_CREDIT = 0.8  # what each word of a short line must earn (a recognition slip still passes)

@dataclass
class _Line:
    text: str
    rows: np.ndarray          # index of each token in the script vocabulary
    weights: np.ndarray
    content: np.ndarray       # bool: token is a content word
    width: int
    names: np.ndarray         # bool: token is a placeholder that a name fills (cues only)
    ordered: bool = False     # cues are short set phrases: their words must come in order
    negated: bool = False     # the line itself says "не"
    short: bool = False       # a line (not a cue) of two content words or fewer: each must be said


@dataclass
class _Compiled:
    stages: list[list[list[_Line]]]         # stage → line → alternatives
    cues: list[list[list[_Line]]]           # stage → line → paraphrase cues
    keys: list[str]
    lemmas: list[str]
    forbidden: list[tuple[str, tuple[str, ...], bool]] = field(default_factory=list)  # phrase, words, filler-like


def _compile_line(text: str, vocab: dict[tuple[str, str], int], cue: bool = False) -> _Line:
    # In a line a placeholder is skipped (any words may stand there); in a cue it must be filled by a name,
    # so that "это {manager} из {company}" recognises "это Андрей из «Смарт Мейкер»".
    placeholders = len(_PLACEHOLDER.findall(text))
    tokens = [t for t in tokenize(_PLACEHOLDER.sub(f" {PLACEHOLDER_WORD} " if cue else " ", text)) if not t.filler]
    # A cue of two words or more also matches the usual synonyms of its words; a one-word cue is that word.
    concepts = _concepts() if cue and sum(t.weight >= 1.0 for t in tokens) > 1 else {}
    keys = [(concepts[t.lemma],) * 2 if t.lemma in concepts else (t.key, t.lemma) for t in tokens]
    rows = [vocab.setdefault(k, len(vocab)) for k in keys]
    n = len(tokens)
    # A cue is a tight phrase; a line allows a few inserted words and names for its placeholders.
    width = n + (2 * placeholders + 1 if cue else 3 * placeholders + max(2, math.ceil(n * 0.4)))
    return _Line(
        text=text,
        rows=np.array(rows, dtype=np.int64),
        weights=np.array([t.weight for t in tokens], dtype=np.float64),
        content=np.array([t.weight >= 1.0 for t in tokens], dtype=bool),
        width=width,
        names=np.array([t.surface == PLACEHOLDER_WORD for t in tokens], dtype=bool),
        ordered=cue,
        negated=any(t.surface in _NEGATIONS for t in tokens),
        short=not cue and sum(t.weight >= 1.0 for t in tokens) <= 2,
    )


@lru_cache(maxsize=64)
def _compile_cached(script_json: str) -> _Compiled:
    script = SalesScript.model_validate_json(script_json)
    vocab: dict[tuple[str, str], int] = {}
    stages = [[[_compile_line(alt, vocab) for alt in alts] for alts in stage.alternatives()] for stage in script.stages]
    cues = [[[_compile_line(c, vocab, cue=True) for c in line] for line in stage.cues()] for stage in script.stages]
    ordered = sorted(vocab, key=lambda k: vocab[k])
    forbidden = [(p, tuple(t.surface for t in tokens), all(t.weight <= FUNCTION_WEIGHT for t in tokens))
                 for p in script.forbidden_phrases() for tokens in [tokenize(p)]]
    return _Compiled(stages, cues, [k for k, _ in ordered], [lem for _, lem in ordered], forbidden)


def compile_script(script: SalesScript) -> _Compiled:
    return _compile_cached(script.model_dump_json())


@dataclass
class _Stream:
    """The manager's speech as tokens, with where each came from."""

    tokens: list[Token]           # all tokens, fillers included (forbidden phrases need them)
    content: list[Token]          # the tokens lines are matched against (no fillers, no abandoned sentence)
    joined: list[Optional[Token]]  # content[i] + content[i+1] when the recogniser split one word
    turns: list[int] = field(default_factory=list)  # the turn of each content token


def _token_times(seg: Segment, tokens: list[Token]) -> None:
    if seg.words and any(w.start is not None for w in seg.words):
        spans, cursor, low = [], 0, fold(seg.text)
        for w in seg.words:
            word = fold(w.word.strip())
            at = low.find(word, cursor) if word else -1
            if at >= 0:
                spans.append((at, w.start))
                cursor = at + len(word)
        for t in tokens:
            t.time = next((start for at, start in reversed(spans) if at <= t.char_start), seg.start)
    elif seg.start is not None:
        span = (seg.end - seg.start) if seg.end is not None else 0.0
        length = max(len(seg.text), 1)
        for t in tokens:
            t.time = round(seg.start + span * t.char_start / length, 2)


def _stream(segments: list[Segment], speakers: set[str]) -> _Stream:
    tokens: list[Token] = []
    content: list[Token] = []
    turn_of = turn_ids(segments, speakers)
    turns: list[int] = []
    for index, seg in enumerate(segments):
        if seg.speaker not in speakers:
            continue
        seg_tokens = tokenize(seg.text)
        _token_times(seg, seg_tokens)
        cut = cut_off_from(segments, index, speakers)
        for t in seg_tokens:
            t.segment = index
            if not t.filler and (cut is None or t.char_start < cut):
                content.append(t)
                turns.append(turn_of[index])
        tokens.extend(seg_tokens)
    joined: list[Optional[Token]] = []
    for a, b in zip(content, content[1:]):
        word = join_split(a.surface, b.surface) if a.segment == b.segment else None
        joined.append(tokenize(word)[0] if word else None)
    joined.append(None)
    return _Stream(tokens, content, joined, turns)


@dataclass
class _Grid:
    """Credit of every script token for every distinct spoken token, and which token stands at each position."""

    credit: np.ndarray        # (script vocabulary × distinct spoken tokens + 1); the last column is "nothing"
    pos: np.ndarray           # distinct-token column of each stream position
    pos_joined: np.ndarray    # column of the word this position makes with the next one (-1: none)
    pos_concept: np.ndarray   # column of the concept of the word at this position (-1: none)
    names: np.ndarray         # float mask: the position holds a name (fills a cue's placeholder)
    negation: np.ndarray      # bool mask: the position holds "не"
    turn: np.ndarray          # the turn of each position (a window never holds two)


def _credit_matrix(comp: _Compiled, stream: _Stream, opts: MatchOptions) -> _Grid:
    """Credit of every script token for every stream position (direct word, and split-word join)."""
    spoken: dict[tuple[str, str], int] = {}
    pos = [spoken.setdefault((t.key, t.lemma), len(spoken)) for t in stream.content]
    pos_joined = [spoken.setdefault((t.key, t.lemma), len(spoken)) if t else -1 for t in stream.joined]
    concepts = _concepts()
    pos_concept = [spoken.setdefault((concepts[t.lemma],) * 2, len(spoken)) if t.lemma in concepts else -1
                   for t in stream.content]
    u_keys = [k for k, _ in spoken]
    u_lemmas = [lem for _, lem in spoken]
    sim = np.maximum(
        process.cdist(comp.keys, u_keys, scorer=fuzz.ratio, dtype=np.uint8),
        process.cdist(comp.lemmas, u_lemmas, scorer=fuzz.ratio, dtype=np.uint8),
    ).astype(np.float32)
    credit = np.clip((sim - opts.credit_low) / (opts.credit_high - opts.credit_low), 0.0, 1.0)
    credit = np.concatenate([credit, np.zeros((credit.shape[0], 1), dtype=np.float32)], axis=1)  # column -1: none
    names = np.array([t.name for t in stream.content], dtype=np.float32)
    negation = np.array([t.surface in _NEGATIONS for t in stream.content], dtype=bool)
    return _Grid(credit, np.array(pos, dtype=np.int64), np.array(pos_joined, dtype=np.int64),
                 np.array(pos_concept, dtype=np.int64), names, negation, np.array(stream.turns, dtype=np.int64))


@dataclass
class _Found:
    similarity: float
    first: int = -1
    last: int = -1


def _locate(line: _Line, grid: _Grid, opts: MatchOptions) -> _Found:
    n_pos = len(grid.pos)
    if n_pos == 0 or len(line.rows) == 0:
        return _Found(0.0)
    sub = grid.credit[line.rows]
    per_pos = np.maximum(sub[:, grid.pos], sub[:, grid.pos_joined])          # (line tokens × positions)
    if line.ordered:
        np.maximum(per_pos, sub[:, grid.pos_concept], out=per_pos)
    if line.names.any():
        per_pos[line.names] = grid.names
    width = line.width
    # Every position starts a window; a window holds only the positions of its first position's turn.
    per_pos = np.concatenate([per_pos, np.zeros((per_pos.shape[0], width - 1), dtype=per_pos.dtype)], axis=1)
    turn = np.concatenate([grid.turn, np.full(width - 1, -2, dtype=np.int64)])
    best = per_pos[:, :n_pos].copy()
    for k in range(1, width):
        np.maximum(best, per_pos[:, k:k + n_pos] * (turn[k:k + n_pos] == grid.turn), out=best)
    scores = line.weights @ best / line.weights.sum()
    if line.content.any():
        scores = np.where(best[line.content].sum(axis=0) > 0, scores, 0.0)
        if line.short:
            # Two content words or fewer (a greeting around a name): each must be there, or fragments of an
            # unrelated sentence («удобнее убирать: днём») pass for the line.
            scores = np.where(best[line.content].min(axis=0) >= _SHORT_WORD_CREDIT, scores, 0.0)
    if line.ordered and len(line.rows) > 1:
        # Only windows that could still reach the cue threshold are worth the exact (slower) ordered score.
        scores = _in_order(scores, per_pos, turn, line, width, opts.cue_threshold / 100)
    top = float(scores.max())
    similarity = top * 100
    if similarity < opts.noise_floor:
        return _Found(0.0)
    # Several windows may hold the same words; the evidence is the tightest of them.
    spans = [(i + a, i + b) for i in np.flatnonzero(scores >= top - 1e-9)[:16]
             for a, b in [_span(_window(per_pos, turn, int(i), width), line.content)]]
    first, last = min(spans, key=lambda ab: (ab[1] - ab[0], ab[0]))
    if _negated(grid, first, last) != line.negated:
        # "мы не можем это сделать" is the opposite of "мы можем это сделать", however alike the words, and
        # "это как раз наш профиль" is not the cue "не наш профиль".
        return _Found(0.0)
    return _Found(round(similarity, 1), first, last)


def _window(per_pos: np.ndarray, turn: np.ndarray, i: int, width: int) -> np.ndarray:
    """The window starting at position ``i``, with the positions of other turns blanked."""
    return per_pos[:, i:i + width] * (turn[i:i + width] == turn[i])


def _negated(grid: _Grid, first: int, last: int) -> bool:
    """A "не" among the matched words or just before them, in the same turn."""
    low = max(first - 2, 0)
    return bool((grid.negation[low:last + 1] & (grid.turn[low:last + 1] == grid.turn[first])).any())


def _in_order(scores: np.ndarray, per_pos: np.ndarray, turn: np.ndarray, line: _Line, width: int,
              floor: float) -> np.ndarray:
    """Rescore the promising windows of a cue so that its words count only in the order written
    ("до завтра" is a farewell, "завтра до обеда" is not)."""
    ordered = np.zeros_like(scores)
    total = line.weights.sum()
    for i in np.flatnonzero(scores >= floor):
        window = _window(per_pos, turn, int(i), width) * line.weights[:, None]
        # best[p]: the most weight placed so far with the last placed word at or before position p.
        best = np.zeros(width + 1)
        for row in window:
            gain = best[:-1] + row                      # place this word at p, after words placed before p
            best = np.maximum(best, np.concatenate([[0.0], np.maximum.accumulate(gain)]))
        value = best[-1] / total
        hits = window[line.content].max(axis=1) if line.content.any() else [1.0]
        ordered[i] = value if np.max(hits) > 0 else 0.0
    return ordered


def _span(window: np.ndarray, content: np.ndarray) -> tuple[int, int]:
    """Where in the best window the line's words were said: each word's best hit nearest the others."""
    rows = [r for r in range(window.shape[0]) if window[r].max() > 0]
    anchors = [r for r in rows if content[r]] or rows
    center = float(np.median([np.argmax(window[r]) for r in anchors]))
    picks = []
    for r in rows:
        best = np.flatnonzero(window[r] >= window[r].max() - 1e-6)
        picks.append(int(best[np.argmin(np.abs(best - center))]))
    return min(picks), max(picks)


def _score_line(alts: list[_Line], cues: list[_Line], grid: _Grid, opts: MatchOptions) -> tuple[LineEvidence, _Found]:
    """The best alternative of a line; a paraphrase cue when no alternative was said well enough."""
    found, alt = max(((_locate(a, grid, opts), a) for a in alts), key=lambda fa: fa[0].similarity)
    line = LineEvidence(text=alt.text, similarity=found.similarity)
    if found.similarity >= opts.line_present:
        line.found = Found.VERBATIM
    if cues and found.similarity < opts.paraphrase_credit:
        cue_found, cue = max(((_locate(c, grid, opts), c) for c in cues), key=lambda fc: fc[0].similarity)
        credit_value = round(opts.paraphrase_credit * cue_found.similarity / 100, 1)
        needed = opts.cue_threshold if len(cue.rows) > 1 else 99.0  # one fuzzy word is too weak a sign
        if cue_found.similarity >= needed:
            line.found, line.cue = Found.CUE, cue.text
            if credit_value > found.similarity:
                found = _Found(credit_value, cue_found.first, cue_found.last)
                line.similarity = credit_value
    return line, found


def _locate_evidence(segments: list[Segment], stream: _Stream, found: _Found, line: LineEvidence) -> None:
    """The evidence as a person checks it: the manager's whole sentence(s) around the matched words, and the
    time that sentence starts."""
    first, last = stream.content[found.first], stream.content[found.last]
    head, tail = segments[first.segment], segments[last.segment]
    if first.segment == last.segment:
        begin, end = sentence_bounds(head.text, first.char_start, last.char_end)
        line.matched = head.text[begin:end]
    else:  # one turn that recognition cut into two segments
        begin = sentence_bounds(head.text, first.char_start, first.char_end)[0]
        end = sentence_bounds(tail.text, last.char_start, last.char_end)[1]
        line.matched = f"{head.text[begin:].strip()} … {tail.text[:end].strip()}"
    start = time_at(head, begin) if begin < first.char_start else first.time
    line.end = last.time
    line.span = Span(turn=first.segment, char_start=begin, char_end=end, start=start,
                     turn_end=last.segment if last.segment != first.segment else None)


class WordScorer:
    """Finds lines by their words: the script's wording (verbatim) and its paraphrase cues."""

    name = "words"

    def score_lines(self, call: CallText, script: SalesScript, opts: MatchOptions) -> list[list[LineEvidence]]:
        comp = compile_script(script)
        stream = manager_stream(call)
        grid = _credit_matrix(comp, stream, opts)
        stages = []
        for lines, stage_cues in zip(comp.stages, comp.cues):
            results = []
            for alts, cues in zip(lines, stage_cues):
                line, found = _score_line(alts, cues, grid, opts)
                if found.similarity > 0:
                    _locate_evidence(call.segments, stream, found, line)
                results.append(line)
            stages.append(results)
        return stages


def manager_stream(call: CallText) -> _Stream:
    """The manager's speech as tokens, built once per call."""
    stream = call.cache.get("stream")
    if stream is None:
        stream = call.cache["stream"] = _stream(call.segments, call.speakers)
    return stream  # type: ignore[return-value]


def forbidden_hits(call: CallText, script: SalesScript, opts: MatchOptions) -> list[ForbiddenHit]:
    """The script's forbidden phrases in what the manager said (lexical: these are words, not meanings)."""
    return _forbidden_hits(compile_script(script), call.segments, manager_stream(call), opts)


def _forbidden_hits(comp: _Compiled, segments: list[Segment], stream: _Stream, opts: MatchOptions) -> list[ForbiddenHit]:
    tokens = stream.tokens
    if not tokens or not comp.forbidden:
        return []
    surfaces = [t.surface for t in tokens]
    unique = sorted(set(surfaces))
    index = {w: i for i, w in enumerate(unique)}
    col = np.array([index[w] for w in surfaces])
    phrase_words = sorted({w for _, words, _ in comp.forbidden for w in words})
    sim = process.cdist(phrase_words, unique, scorer=fuzz.ratio, dtype=np.uint8)
    short = np.array([len(w) <= 3 for w in phrase_words])[:, None]
    ok = np.where(short, sim == 100, sim >= opts.forbidden_similarity)
    row = {w: i for i, w in enumerate(phrase_words)}
    hits = []
    for phrase, words, only_function in comp.forbidden:
        k = len(words)
        if k == 0 or k > len(tokens):
            continue
        match = np.ones(len(tokens) - k + 1, dtype=bool)
        for j, w in enumerate(words):
            match &= ok[row[w]][col[j:len(tokens) - k + 1 + j]]
        for i in np.flatnonzero(match):
            first, last = tokens[i], tokens[i + k - 1]
            if first.segment != last.segment:
                continue
            # "как бы вы хотели" is a question, not the filler "как бы".
            if only_function and k > 1 and i + k < len(tokens) and tokens[i + k].lemma in _PRONOUNS:
                continue
            # "каждого типа" is a noun after its modifier, not the filler "типа".
            if k == 1 and i > 0 and tokens[i - 1].segment == first.segment and is_modifier(tokens[i - 1].surface):
                continue
            text = segments[first.segment].text[first.char_start:last.char_end]
            hits.append(ForbiddenHit(phrase=phrase, matched=text, start=first.time, turn=first.segment))
    hits.sort(key=lambda h: (h.turn or 0, h.start or 0))
    return hits

