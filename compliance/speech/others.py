"""Other voices on a party's channel, told by voice as well as level: a colleague reading the same script nearby.

A stereo channel holds one party. Another voice in the room reaches its microphone too; far below the party it is
told apart by level alone (``speech.levels``), but a colleague at the next desk is only a few dB below: inside any
level gate that keeps the party's own quieter words. Here the voice decides:

1. the channel's main voice is modelled from its loud speech (within ``_LOUD_DB`` of the speaker's level: the party
   is the loudest voice on their own microphone), a second model from its quieter speech (``_QUIET_DB`` or more
   below), both over the speech frames only (10 ms MFCC frames of the mono diarizer, ``speech.diarize``, within
   ``_ACTIVE_DB`` of the speaker: pauses and line noise would tell the models apart by silence, not by voice);
2. the two are two voices when two Gaussians explain those frames better than one by ``TWO_VOICES`` (the BIC
   separation the diarizer uses): the party's own quiet syllables are the party's voice and stay below it;
3. on a channel of two voices, a quiet stretch is the other voice's when that voice's model explains its frames
   better than the party's.

Used twice: before decoding (``other_voice_cuts``: quarter-second pieces the other voice alone is heard in are not
decoded, as ``levels.loud_parts`` does below its level gate: each costs decoding, and its words are not the
party's), and after (``other_voice_words``: words of the other voice that were decoded all the same are kept in the
transcript, marked, and ``channels`` makes them background turns: never credited or charged).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from compliance.speech.decode import SAMPLE_RATE

from .diarize import _frame_range, _Gaussian, mfcc
from .levels import envelope, speaker_level

# Measured on the voices-dev set (benchmarks/make_noisy_audio.py, RHVoice's voices, 8 calls): the separation of the
# loud and the quiet speech was -0.05–0.11 on the clean calls (one voice), 0.06–0.37 with a colleague 5 dB below
# (all but one call ≥ 0.20), 0.01–0.28 at 10 dB. Chosen on that set: development data for these numbers.
TWO_VOICES = 0.15
_LOUD_DB = 3.0     # the party's own speech: within this of the speaker's level (unit level, 0.4 s envelope)
_QUIET_DB = 4.0    # what may be another voice: this far below it or more
_ACTIVE_DB = 20.0  # speech frames: within this of the speaker's level (10 ms frames)
_UNIT = 0.25       # seconds: the pieces speech regions are cut into before decoding
_PAD = 0.25        # seconds kept around the party's pieces (their words' edges)
_ALONE = 8         # units (2 s): a run of quiet speech this long is a voice heard alone…
_ALONE_SHARE = 0.01  # … and such runs over this share of a channel's units are another voice in the room
_ISLAND = 4        # units: a quiet run this short between two of the other voice's units is the other voice's too
_SPEAKER_DBFS = -10.0  # the level the speaker is brought to before the voice features are read
_MIN_FRAMES = 64 * 16  # frames a model needs (both), 16 coefficients


class _Voices:
    """A channel's two voice models (or None when it holds one voice) over normalised MFCC frames."""

    def __init__(self, feats: np.ndarray, active: np.ndarray, level: float, env: np.ndarray) -> None:
        self.feats, self.active, self.level, self.env = feats, active, level, env
        self.models: Optional[tuple[_Gaussian, _Gaussian]] = None
        self.separation = 0.0

    def frames(self, span: tuple[int, int]) -> np.ndarray:
        a, b = span
        return self.feats[a:b][self.active[a:b]]

    def unit_level(self, start: float, end: float) -> float:
        lo = min(max(int(start * 20), 0), len(self.env) - 1)
        return float(np.mean(self.env[lo:max(int(end * 20), lo + 1)]))

    def fit(self, units: Sequence[tuple[float, float]]) -> None:
        spans = [_frame_range(a, b, len(self.feats)) for a, b in units]
        levels = np.array([self.unit_level(a, b) for a, b in units])
        frames = [self.frames(s) for s in spans]
        loud = [f for f, v in zip(frames, levels) if v >= self.level - _LOUD_DB]
        quiet = [f for f, v in zip(frames, levels) if v < self.level - _QUIET_DB]
        if not loud or not quiet or not _heard_alone(units, [len(f) > 0 and v < self.level - _QUIET_DB
                                                             for f, v in zip(frames, levels)]):
            return
        a, b = np.concatenate(loud), np.concatenate(quiet)
        if min(len(a), len(b)) < _MIN_FRAMES // 16:
            return
        self.separation = _separation(a, b)
        if self.separation >= TWO_VOICES:
            self.models = (_Gaussian(a), _Gaussian(b))

    def other(self, start: float, end: float) -> bool:
        """Whether the stretch is the other voice's: quiet, and closer to the other voice than to the party's."""
        if self.models is None or self.unit_level(start, end) >= self.level - _QUIET_DB:
            return False
        return self.sounds_other(start, end)

    def sounds_other(self, start: float, end: float) -> bool:
        """Whether the stretch's speech frames are closer to the other voice than to the party's, at any level."""
        if self.models is None:
            return False
        frames = self.frames(_frame_range(start, end, len(self.feats)))
        if not len(frames):
            return False
        party, other = self.models
        return float(np.mean(other.loglik(frames) - party.loglik(frames))) > 0


def _heard_alone(units: Sequence[tuple[float, float]], quiet: Sequence[bool]) -> bool:
    """Whether quiet speech is heard on its own for ``_ALONE`` units in a row (within one region) over at least
    ``_ALONE_SHARE`` of the units: another voice filling the party's pauses. The party's own quiet syllables come
    beside their loud ones: on the clean voices-held calls no such run was found on any channel, while the
    separation alone gave four of their 32 channels two voices (0.16-0.29) and cut 8 s of the party's speech; with
    a colleague 5 dB below, every channel had such runs (3-55 % of its units)."""
    run = alone = 0
    for k, q in enumerate(quiet):
        joined = k > 0 and abs(units[k][0] - units[k - 1][1]) < 1e-6
        run = run + 1 if q and joined else int(q)
        alone += _ALONE if run == _ALONE else int(run > _ALONE)
    return alone >= max(_ALONE, _ALONE_SHARE * len(units))


def _separation(a: np.ndarray, b: np.ndarray) -> float:
    """How much better two Gaussians explain the frames of ``a`` and ``b`` than one, per frame, less what the second
    Gaussian's parameters buy by themselves (BIC, as ``diarize._separation``)."""
    every = np.concatenate([a, b])
    dim = every.shape[1]

    def logdet(x: np.ndarray) -> float:
        return float(np.linalg.slogdet(np.cov(x, rowvar=False) + np.eye(dim) * 1e-3)[1])

    penalty = (dim + dim * (dim + 1) / 2) * np.log(len(every)) / (2 * len(every))
    return 0.5 * (logdet(every) - (len(a) * logdet(a) + len(b) * logdet(b)) / len(every)) - float(penalty)


def channel_voices(audio: np.ndarray, heard: list[tuple[int, int]], regions: list[tuple[int, int]]
                   ) -> Optional[_Voices]:
    """The voice models of one channel: ``heard`` the VAD's speech regions (the speaker's level), ``regions`` those
    that would be decoded. None when there is too little speech to tell."""
    env = envelope(audio)
    level = speaker_level(env, heard)
    if level is None:
        return None
    # the speaker at -10 dBFS: the spectrum's floor (``mfcc``'s 1e-8) would otherwise tell a quiet phrase of the
    # same voice from a loud one
    feats = mfcc(audio * np.float32(10 ** ((_SPEAKER_DBFS - level) / 20)))
    if len(feats) == 0:
        return None
    n = len(feats)
    windows = np.lib.stride_tricks.sliding_window_view(audio, 400)[::160][:n].astype(np.float64)
    energy = 10 * np.log10(np.mean(windows ** 2, axis=1) + 1e-12)
    active = energy >= level - _ACTIVE_DB
    if active.sum() < _MIN_FRAMES // 4:
        return None
    speech = feats[active]
    voices = _Voices((feats - speech.mean(axis=0)) / (speech.std(axis=0) + 1e-6), active, level, env)
    voices.fit(_units(regions))
    return voices


def _units(regions: list[tuple[int, int]]) -> list[tuple[float, float]]:
    step = int(_UNIT * SAMPLE_RATE)
    return [(x / SAMPLE_RATE, min(x + step, b) / SAMPLE_RATE) for a, b in regions for x in range(a, b, step)]


def other_voice_cuts(audio: np.ndarray, voices: Optional[_Voices], regions: list[tuple[int, int]]
                     ) -> list[tuple[int, int]]:
    """The speech regions (sample ranges) without the pieces only the other voice is heard in; the party's pieces
    are kept with ``_PAD`` around them, within the regions."""
    if voices is None or voices.models is None or not regions:
        return regions
    pad = int(_PAD * SAMPLE_RATE)
    out: list[tuple[int, int]] = []
    for a, b in regions:
        kept: list[tuple[int, int]] = []
        units = _units([(a, b)])
        for (start, end), other in zip(units, _others_runs(voices, units)):
            if other:
                continue
            lo, hi = max(a, int(start * SAMPLE_RATE) - pad), min(b, int(end * SAMPLE_RATE) + pad)
            if kept and lo <= kept[-1][1]:
                kept[-1] = (kept[-1][0], hi)
            else:
                kept.append((lo, hi))
        out += kept
    return out


def _others_runs(voices: _Voices, units: list[tuple[float, float]]) -> list[bool]:
    """Which of a region's units (in time order) are the other voice's: those ``_Voices.other`` finds, and a run of
    at most ``_ISLAND`` quiet units between two of them (or one of them and the region's edge). Scored alone, a fifth
    of a colleague's quiet units came out nearer the party's voice (or had no speech frames), and each such unit kept
    itself and ``_PAD`` of the cut units either side of it: the colleague's stretches were decoded in pieces (at 5 dB
    on voices-held, 304 of the 855 s of colleague-alone speech decoded were such pads). The party's own quiet
    syllables lie beside their loud ones, which are never cut."""
    other = [voices.other(start, end) for start, end in units]
    quiet = [voices.unit_level(start, end) < voices.level - _QUIET_DB for start, end in units]
    out = list(other)
    k = 0
    while k < len(units):
        if other[k]:
            k += 1
            continue
        j = k
        while j + 1 < len(units) and not other[j + 1]:
            j += 1
        # between two of the other voice's units, or one and the region's edge (a region of the other voice alone)
        if (k > 0 or j + 1 < len(units)) and j - k + 1 <= _ISLAND and all(quiet[k:j + 1]):
            out[k:j + 1] = [True] * (j - k + 1)
        k = j + 1
    return out


def other_voice_words(voices: Optional[_Voices], words: Sequence[tuple[float, float]]) -> list[bool]:
    """Which words (start, end seconds) the other voice says."""
    if voices is None or voices.models is None:
        return [False] * len(words)
    return [voices.other(a, b) for a, b in words]


def other_voice_gaps(voices: Optional[_Voices], stretches: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches (sample ranges) of speech the first pass left without words that the gap pass should decode
    again: not those that sound like the channel's other voice. Where two voices overlap the decoder follows the
    louder, the party, and leaves the colleague's speech in its pauses without words; decoded again on its own,
    that speech became the colleague's words at the cost of a window each (at 5 dB on voices-held: 10 more
    windows over six calls, a quarter of the recognition time)."""
    if voices is None or voices.models is None:
        return list(stretches)
    return [(a, b) for a, b in stretches if not voices.sounds_other(a / SAMPLE_RATE, b / SAMPLE_RATE)]
