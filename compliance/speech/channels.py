"""Two channels into one conversation: turns merged by word times, talk metrics, which channel is the manager's."""
from __future__ import annotations

from typing import Optional

import numpy as np
from pydantic import BaseModel

from compliance.messages import Message
from compliance.scoring.result import CallResult
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Segment, Speaker, TalkMetrics, Transcript, Word

from .cache import _Recognised
from .engine import TranscribeOptions


class _Utterance(BaseModel):
    channel: int
    start: float
    end: float
    words: list[Word]


def _start(w: Word) -> float:
    """A timed word's start (``_words`` keeps only words that have one)."""
    return w.start if w.start is not None else 0.0


def _end(w: Word) -> float:
    return w.end if w.end is not None else _start(w)


def _words(segments: list[Segment]) -> list[Word]:
    return sorted((w for s in segments for w in s.words if w.start is not None), key=_start)


def _utterances(channel: int, words: list[Word], other: list[Word], pause: float) -> list[_Utterance]:
    """Split one channel's words where the other party speaks in a gap between them (or at a long pause).

    A backchannel said over continuous speech does not split it; it follows it.
    """
    spans = np.array([(_start(w), _end(w)) for w in other], dtype=float).reshape(-1, 2)
    out: list[_Utterance] = []
    for w in words:
        if out:
            last = out[-1].words[-1]
            gap_start, gap_end = _end(last), _start(w)
            other_spoke = bool(np.any((spans[:, 0] < gap_end) & (spans[:, 1] > gap_start))) if gap_end > gap_start else False
            if not other_spoke and gap_end - gap_start < pause:
                out[-1].words.append(w)
                out[-1].end = max(out[-1].end, _end(w))
                continue
        out.append(_Utterance(channel=channel, start=_start(w), end=_end(w), words=[w]))
    return out


def _segment(words: list[Word], speaker: Speaker) -> Segment:
    return Segment(text=" ".join(w.word for w in words), speaker=speaker, start=_start(words[0]),
                   end=max(_end(w) for w in words), words=words)


# A channel's own words and the words heard far below its speaker: (channel or -1 for background, words).
_Turn = tuple[int, list[Word]]


def _merge_channels(channels: list[list[Segment]], manager: int,
                    quiet: Optional[list[Optional[float]]] = None) -> list[Segment]:
    """Two channels → turns in time order, merged by word timestamps; words below ``quiet`` (dBFS, per channel)
    become background turns of their own."""
    own, background = zip(*(_split_background(_words(c), q) for c, q in zip(channels, quiet or [None, None])))
    utts = _utterances(0, own[0], own[1], 1e9) + _utterances(1, own[1], own[0], 1e9)
    utts += [_Utterance(channel=-1, start=_start(w), end=_end(w), words=[w]) for w in background[0] + background[1]]
    utts.sort(key=lambda u: (u.start, u.channel))
    turns: list[_Turn] = []
    for u in utts:
        if turns and turns[-1][0] == u.channel:
            turns[-1][1].extend(u.words)
        else:
            turns.append((u.channel, list(u.words)))
    roles: dict[int, Speaker] = {-1: "background", manager: "manager", 1 - manager: "client"}
    return [_segment(ws, roles[ch]) for ch, ws in turns]


def _mono_segments(channel: list[Segment], quiet: Optional[float]) -> list[Segment]:
    """One channel: segments split at pauses of half a second or more, speaker unknown; words below ``quiet``
    (dBFS) are background turns of their own."""
    own, background = _split_background(_words(channel), quiet)
    utts = _utterances(0, own, [], 0.5) + [_Utterance(channel=-1, start=_start(w), end=_end(w), words=[w])
                                          for w in background]
    utts.sort(key=lambda u: (u.start, u.channel))
    turns: list[_Turn] = []
    for u in utts:
        if turns and turns[-1][0] == u.channel == -1:
            turns[-1][1].extend(u.words)
        else:
            turns.append((u.channel, list(u.words)))
    return [_segment(ws, "background" if ch == -1 else "unknown") for ch, ws in turns]


# Fewer words in a row below the line are the speaker's own quiet words (a short word whose loose timestamps
# reach into a pause): on the clean spoken calls single words fell below it, and one stage with them.
_BACKGROUND_RUN = 3


def _split_background(words: list[Word], quiet: Optional[float]) -> tuple[list[Word], list[Word]]:
    """A channel's words: its speaker's, and those heard below ``quiet`` or said by another voice
    (``Word.other_voice``: another voice in the room), in runs of at least ``_BACKGROUND_RUN`` words in a row."""
    if quiet is None and not any(w.other_voice for w in words):
        return words, []
    # below the level gate, or another voice by voice (speech.others)
    below = [bool(w.other_voice) or (quiet is not None and w.level is not None and w.level < quiet) for w in words]
    i = 0
    while i < len(below):
        j = i
        while j < len(below) and below[j] == below[i]:
            j += 1
        if below[i] and j - i < _BACKGROUND_RUN:
            below[i:j] = [False] * (j - i)
        i = j
    return [w for w, b in zip(words, below) if not b], [w for w, b in zip(words, below) if b]


def _background_below(recognised: _Recognised, options: TranscribeOptions) -> list[Optional[float]]:
    """Per channel, the level (dBFS) under which a word is another voice's: ``background_word_db`` below the
    channel's speaker; None when not measured (a cache from before) or switched off."""
    if options.background_word_db <= 0 or len(recognised.quality) != len(recognised.channels) or \
            len(recognised.channels) == 1:  # mono: both parties on one channel, the quieter one is no background
        return [None] * len(recognised.channels)
    return [q.speech_db - options.background_word_db if q.speech_db is not None else None
            for q in recognised.quality]


def _spans(words: list[Word], join: float = 0.5) -> list[tuple[float, float]]:
    spans: list[list[float]] = []
    for w in words:
        end = _end(w)
        if spans and _start(w) - spans[-1][1] <= join:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([_start(w), end])
    return [(a, b) for a, b in spans]


def _union_length(spans: list[tuple[float, float]]) -> float:
    total = 0.0
    current: Optional[tuple[float, float]] = None
    for a, b in sorted(spans):
        if current is None or a > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (a, b)
        else:
            current = (current[0], max(current[1], b))
    return total + ((current[1] - current[0]) if current is not None else 0.0)


def _overlaps(spans: list[tuple[float, float]], other: list[tuple[float, float]], margin: float = 0.2) -> int:
    return sum(1 for a, _ in spans if any(oa + margin <= a <= ob - margin for oa, ob in other))


def measure_talk(channels: list[list[Segment]], manager: int, turns: list[Segment], duration: float,
                 quiet: Optional[list[Optional[float]]] = None) -> TalkMetrics:
    """Talk share, longest manager monologue, interruptions and silence of a two-channel call; words heard below
    ``quiet`` (dBFS, per channel: another voice in the room) are no party's speech."""
    spans = [_spans(_split_background(_words(c), q)[0]) for c, q in zip(channels, quiet or [None] * len(channels))]
    speech = [_union_length(s) for s in spans]
    m, c = speech[manager], speech[1 - manager]
    both = m + c
    longest = max(((t.end or 0) - (t.start or 0) for t in turns if t.speaker == "manager"), default=0.0)
    silence = max(0.0, duration - _union_length(spans[0] + spans[1]))
    return TalkMetrics(
        manager_share=round(m / both, 3) if both else 0.0, client_share=round(c / both, 3) if both else 0.0,
        longest_manager_monologue=round(longest, 2),
        interruptions=_overlaps(spans[0], spans[1]) + _overlaps(spans[1], spans[0]),
        silence=round(silence, 2), manager_speech=round(m, 2), client_speech=round(c, 2),
        response_time=_response_time(turns),
    )


def _response_time(turns: list[Segment]) -> Optional[float]:
    """The mean pause from the end of a client's turn to the start of the manager's next one (an answer said
    over the client's words counts as 0)."""
    gaps = [max(0.0, (b.start or 0.0) - (a.end or 0.0)) for a, b in zip(turns, turns[1:])
            if a.speaker == "client" and b.speaker == "manager" and a.end is not None and b.start is not None]
    return round(sum(gaps) / len(gaps), 2) if gaps else None


_SIDES = ("левый", "правый")


# The script's words alone choose the manager's side when the two channels' fits differ by this many points;
# closer than that (a manager in their own words), meaning decides. Words first saves embedding every client
# sentence of every call, which only served this choice.
_WORDS_DECIDE = 10.0


def _score_alone(channel: list[Segment], script: SalesScript, meaning: bool = True) -> CallResult:
    """One channel's speech scored alone, as if it were the whole call (no connection checks)."""
    from compliance.scoring.score import MatchOptions, score_call

    alone = Transcript(segments=[s.model_copy(update={"speaker": "unknown"}) for s in channel])
    lenient = MatchOptions(min_words=0, min_client_words=0, min_turns=0, min_party_speech=0, min_two_party_speech=0,
                           meaning=meaning)
    return score_call(alone, script, "newcomer", lenient)


def says_opening(result: CallResult, script: SalesScript) -> bool:
    """Whether a party's speech scored alone holds the script's opening stage (the greeting, the introduction)."""
    opening = script.stages[0].id if script.stages else None
    return any(s.id == opening and s.present for s in result.stages)


# A party that says the script's opening stage (greets, introduces themselves and the company, asks for a minute)
# while the other does not, and trails the other's script fit by less than this, is the manager. On a short call
# the client who reads the next step and the goodbye can outscore a manager who greeted, asked and let the client
# close (calls_blind9 call 14: 20 against 7 % in stereo, 26.5 against 7.3 on its typed text; calls_blind12 call
# 11: 36 against 10 typed, the client reads the payment, the next step and the goodbye). On the 382 connected calls
# of the typed sets calls_blind … calls_blind13, each party as its own channel (benchmarks/role_check.py), no
# client's side ever said the opening, whatever this margin up to 40; at 20 call 11 went to the client.
_OPENER_MARGIN = 40.0


class ScriptFit(BaseModel):
    """How each party's speech alone follows the script: its fit (adherence %, -1 for none) and whether it says the
    script's opening stage (known only when the fits are close enough for it to matter)."""
    fits: list[float]
    opens: list[bool]

    def choice(self) -> Optional[tuple[int, bool]]:
        """The manager's party by fit, or the one that opens as the script opens when the other leads by little (or
        not at all); and whether the opening decided. None when the script tells the parties apart in neither way."""
        if max(self.fits) <= 0 or (self.fits[0] == self.fits[1] and self.opens[0] == self.opens[1]):
            return None
        best = int(self.fits[1] > self.fits[0])
        other = 1 - best
        if self.opens[other] and not self.opens[best] and self.fits[best] - self.fits[other] < _OPENER_MARGIN:
            return other, True
        return best, False

    def certainty(self) -> float:
        """How many points of fit the choice is worth: the chosen party's lead, or, when the opening chose, 20
        points less the other party's lead (none beyond 20: the opening chooses the manager against a lead up to
        the margin, and a lead that large leaves the choice for a lead to check). 0: nothing to choose by."""
        chosen = self.choice()
        if chosen is None:
            return 0.0
        lead = abs(self.fits[0] - self.fits[1])
        return max(0.0, _OPENER_MARGIN / 2 - lead) if chosen[1] else lead


def _script_fit(channels: list[list[Segment]], script: SalesScript) -> ScriptFit:
    """Each channel's fit to the script: by its words, or by meaning too when words leave it close; and, when the
    fits are close enough for it to matter, whether it says the opening stage (when the words decide, the party
    ahead is looked at only when the one behind says it)."""
    fit = [_score_alone(c, script, meaning=False).adherence if c else None for c in channels]
    words = [f if f is not None else -1.0 for f in fit]
    decided = abs(words[0] - words[1]) >= _WORDS_DECIDE and max(words) > 0
    if decided and abs(words[0] - words[1]) >= _OPENER_MARGIN:
        return ScriptFit(fits=words, opens=[False, False])
    if decided:  # the opening matters only when the party behind says it: the one ahead is scored only then
        behind = int(words[1] < words[0])
        if not channels[behind] or not says_opening(_score_alone(channels[behind], script), script):
            return ScriptFit(fits=words, opens=[False, False])
        ahead = says_opening(_score_alone(channels[1 - behind], script), script)
        return ScriptFit(fits=words, opens=[ahead, True] if behind else [True, ahead])
    results = [_score_alone(c, script) if c else None for c in channels]
    opens = [r is not None and says_opening(r, script) for r in results]
    meant = [r.adherence if r is not None and r.adherence is not None else -1.0 for r in results]
    return ScriptFit(fits=meant, opens=opens)


# The script fit that chooses the manager's channel is read on each channel's loud words: its own speaker's. A
# colleague reading the same script at the next desk reaches the client's microphone too, a few dB below the client
# (inside the background gate, ``background_word_db``), and on a client who says little those lines could outscore
# the manager's own channel. On the voices-fresh8 calls 11 % of the words of clean channels lie more than this below
# their channel's speaker, and about two thirds of a colleague's 5 dB below.
_ROLE_LOUD_DB = 4.0


def _loud_words(channel: list[Segment], speech_db: Optional[float]) -> list[Segment]:
    """The channel's segments with only the words within ``_ROLE_LOUD_DB`` of its speaker (all of them when the
    levels were not measured: a cache from before them)."""
    if speech_db is None:
        return channel
    out = []
    for seg in channel:
        kept = [w for w in seg.words if w.level is None or w.level >= speech_db - _ROLE_LOUD_DB]
        if kept:
            out.append(_segment(kept, seg.speaker) if len(kept) < len(seg.words) else seg)
        elif not seg.words:
            out.append(seg)
    return out


def _choose_manager(recognised: _Recognised, options: TranscribeOptions,
                    script: Optional[SalesScript]) -> tuple[int, Optional[Message]]:
    """The manager's channel: as given, else the one whose speaker follows the script better (``_loud_words``),
    else the one that talks more, else the left one (the usual recorder convention)."""
    if options.manager_channel != "auto":
        return (0 if options.manager_channel == "left" else 1), None
    channels = recognised.channels
    if not channels[0] and not channels[1]:
        return 0, None
    if script is not None:
        levels = [q.speech_db for q in recognised.quality] if len(recognised.quality) == len(channels) \
            else [None] * len(channels)
        fitted = _script_fit([_loud_words(c, level) for c, level in zip(channels, levels)], script)
        fit, chosen = fitted.fits, fitted.choice()
        if chosen is not None:
            best, by_opening = chosen
            shown = [f"{f:.0f} %" if f >= 0 else "—" for f in fit]
            return best, Message(code="manager_side_opening" if by_opening else "manager_side_script", params={
                **_side(best), "fit": shown[best], "other": shown[1 - best]})
    if channels[0] and channels[1]:
        speech = [_union_length(_spans(_words(c))) for c in channels]
        best = int(speech[1] > speech[0])
        return best, Message(code="manager_side_speech", params={
            **_side(best), "seconds": speech[best], "other": speech[1 - best]})
    return 0, Message(code="manager_side_default")


def _side(channel: int) -> dict[str, str | int | float]:
    return {"side_ru": _SIDES[channel], "side_en": ("left", "right")[channel]}
