"""Voice prints for enrolment: a manager's voice, from a few of their calls, as the diarizer describes a party.

With the speaker-embedding encoder installed (``voice_encoder``) a print is the mean d-vector of the manager's
pieces of speech (256 numbers); without it, the mean and spread of their MFCC frames (32 numbers). A call compares
a print with its parties' prints of the same kind, so a print enrolled before the encoder keeps working."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from pydantic import BaseModel, Field

from compliance.errors import AudioError
from compliance.scoring.script import SalesScript

from .decode import SAMPLE_RATE, decode_audio
from .diarize import _chunks, _frame_range, _print, mfcc
from .engine import TranscribeOptions
from .transcribe import transcribe_file
from .voice_encoder import EMBEDDING_SIZE, load_encoder

# Less of the manager's speech than this (seconds) says too little about a voice.
_MIN_SPEECH = 8.0


class Enrolment(BaseModel):
    """A voice print made from some calls, and the calls that could not give one (with why)."""

    vector: list[float] = Field(default_factory=list)
    used: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)


def call_print(path: Path, options: TranscribeOptions, script: Optional[SalesScript], *, model=None,
               cache_dir: Optional[Path] = None) -> tuple[Optional[list[float]], str]:
    """The manager's voice print in one call (their channel of a stereo call, their party of a mono one), or
    None and why not."""
    transcript = transcribe_file(path, options, model=model, cache_dir=cache_dir, script=script)
    decoded = decode_audio(path)
    channel = 1 if decoded.stereo and transcript.manager_channel == "right" else 0
    if not decoded.stereo and decoded.channels:
        channel = 0
    feats = mfcc(decoded.channels[channel])
    words = [w for s in transcript.segments if s.speaker == "manager" for w in s.words if w.start is not None]
    spans = [_frame_range(w.start or 0.0, w.end or (w.start or 0.0), len(feats)) for w in words]
    if sum(b - a for a, b in spans) / 100 < _MIN_SPEECH:
        return None, "too little of the manager's speech"
    if transcript.flags:
        return None, "the parties were not told apart with confidence"
    encoder = load_encoder()
    if encoder is None:
        return _print(feats, spans), ""
    audio = decoded.channels[channel]
    times = [(words[g[0]].start or 0.0, words[g[-1]].end or (words[g[-1]].start or 0.0))
             for g in _chunks([(w.start or 0.0, w.end or (w.start or 0.0)) for w in words], 1.5)]
    pieces = [audio[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in times if b - a >= 1.0]
    if not pieces:
        return None, "too little of the manager's speech"
    mean = encoder.embed(pieces).mean(axis=0)
    return [round(float(v), 5) for v in mean / (np.linalg.norm(mean) + 1e-9)], ""


def enroll(paths: Sequence[Path], options: TranscribeOptions, script: Optional[SalesScript], *, model=None,
           cache_dir: Optional[Path] = None) -> Enrolment:
    """A manager's voice print: the mean of their prints in ``paths`` (re-normalised when they are d-vectors); a
    call that cannot give one is skipped."""
    out = Enrolment()
    prints = []
    for path in paths:
        try:
            vector, why = call_print(path, options, script, model=model, cache_dir=cache_dir)
        except AudioError as exc:
            out.skipped.append(str(exc))  # it names the file
            continue
        if vector is None:
            out.skipped.append(f"{path}: {why}")
            continue
        prints.append(vector)
        out.used.append(str(path))
    if prints:
        mean = np.mean(np.array(prints), axis=0)
        if len(mean) == EMBEDDING_SIZE:  # d-vectors: back to unit length
            mean = mean / (np.linalg.norm(mean) + 1e-9)
        out.vector = [round(float(v), 5) for v in mean]
    return out
