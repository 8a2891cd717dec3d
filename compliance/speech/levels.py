"""Levels of a channel: its main speaker, the noise under them, and the stretches only background is heard in.

A manager in a shared room has other voices on their channel: a colleague reading the same script, a TV. Those
voices reach the microphone far below the manager's own voice. The envelope (RMS over 0.4 s, in 50 ms steps)
tells them apart by level: the speaker is the loud part of the speech, the background the speech well below it.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from compliance.scoring.quality import LOW_PROBABILITY, ChannelQuality
from compliance.scoring.transcript import Segment
from compliance.speech.decode import SAMPLE_RATE

_FRAME = SAMPLE_RATE // 20   # 50 ms
_SMOOTH = 8                  # frames: 0.4 s, a syllable or two
_PAD = 0.25                  # seconds kept around a loud stretch (word edges are quieter than their middle)
_UNDER_DB = 12.0             # what is this far below the speaker is under them (pauses, or other sounds in them)


def envelope(audio: np.ndarray) -> np.ndarray:
    """dBFS of each 50 ms frame, as RMS over the 0.4 s around it."""
    n = len(audio) // _FRAME
    if n == 0:
        return np.full(1, -120.0)
    power = np.mean(audio[:n * _FRAME].astype(np.float64).reshape(n, _FRAME) ** 2, axis=1)
    smooth = np.convolve(power, np.ones(_SMOOTH) / _SMOOTH, mode="same")
    return 10 * np.log10(np.maximum(smooth, 1e-12))


def _frames(regions: list[tuple[int, int]], n: int) -> np.ndarray:
    inside = np.zeros(n, dtype=bool)
    for a, b in regions:
        inside[a // _FRAME:max(b // _FRAME, a // _FRAME + 1)] = True
    return inside


def speaker_level(env: np.ndarray, regions: list[tuple[int, int]]) -> Optional[float]:
    """The channel's main speaker: the 90th percentile of the envelope where the VAD hears speech."""
    inside = _frames(regions, len(env))
    return float(np.percentile(env[inside], 90)) if inside.any() else None


def noise_level(env: np.ndarray) -> float:
    """What is under the speaker: the 10th percentile of the envelope (pauses, or background in them)."""
    return float(np.percentile(env, 10))


def noise_swing(env: np.ndarray, speech: Optional[float]) -> Optional[float]:
    """How much what is heard under the speaker swings: the spread (90th less 10th percentile, dB) of the envelope
    more than ``_UNDER_DB`` below the speaker. A voice in the room swings with its syllables (8-19 dB with a
    colleague 10 dB below, on the noisy sets), a steady hiss does not (1.0-1.3 dB with pink noise 10 dB below)."""
    if speech is None:
        return None
    under = env[env < speech - _UNDER_DB]
    if len(under) < 20:  # a second of it
        return None
    low, high = np.percentile(under, [10, 90])
    return float(high - low)


def loud_parts(audio: np.ndarray, regions: list[tuple[int, int]], below_db: float) -> list[tuple[int, int]]:
    """The speech regions cut down to where the envelope is within ``below_db`` of the channel's speaker (padded
    0.25 s): stretches where only a voice far below the speaker is heard are not decoded (they cost a decoding
    window each, and their words are not the speaker's). ``below_db`` 0 keeps the regions as they are."""
    if below_db <= 0 or not regions:
        return regions
    env = envelope(audio)
    level = speaker_level(env, regions)
    if level is None:
        return regions
    loud = (env >= level - below_db) & _frames(regions, len(env))
    pad = int(_PAD * SAMPLE_RATE)
    parts: list[tuple[int, int]] = []
    for k in np.flatnonzero(loud).tolist():
        a, b = max(0, int(k) * _FRAME - pad), min(len(audio), (int(k) + 1) * _FRAME + pad)
        if parts and a <= parts[-1][1] and b - parts[-1][0] <= 30 * SAMPLE_RATE:
            parts[-1] = (parts[-1][0], b)
        else:
            parts.append((a, b))
    return parts


def word_level(audio: np.ndarray, start: float, end: float) -> float:
    """A word's RMS level, dBFS, over its time."""
    piece = audio[int(start * SAMPLE_RATE):max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE) + 1)]
    if piece.size == 0:
        return -120.0
    return 20 * float(np.log10(max(float(np.sqrt(np.mean(piece.astype(np.float64) ** 2))), 1e-6)))


def measure_channel(audio: np.ndarray, regions: list[tuple[int, int]], raw: list, kept: list[Segment]) -> ChannelQuality:
    """One channel's quality: the recogniser's signals over its segments (``raw``: faster-whisper's, those kept)
    and its words (``kept``: ours), and the audio's levels. Rated later, once the channel's speaker is known."""
    words = [w for s in kept for w in s.words]
    probabilities = [w.probability for w in words if w.probability is not None]
    weights = np.array([max(len(s.words or []), 1) for s in raw], dtype=float)

    def mean(values: list[float]) -> Optional[float]:
        return round(float(np.average(values, weights=weights)), 3) if len(values) and weights.sum() else None

    env = envelope(audio)
    speech = speaker_level(env, regions)
    noise = noise_level(env)
    return ChannelQuality(
        words=len(words),
        low_confidence=round(sum(p < LOW_PROBABILITY for p in probabilities) / len(probabilities), 3)
        if probabilities else 0.0,
        avg_logprob=mean([s.avg_logprob for s in raw]), no_speech_prob=mean([s.no_speech_prob for s in raw]),
        # a segment decoded again on its own (recognise's gap pass) may carry no compression ratio
        compression_ratio=mean([getattr(s, "compression_ratio", 0.0) or 0.0 for s in raw]),
        speech_db=round(speech, 1) if speech is not None else None, noise_db=round(noise, 1),
        snr_db=round(speech - noise, 1) if speech is not None else None,
        noise_swing_db=None if (swing := noise_swing(env, speech)) is None else round(swing, 1),
    )
