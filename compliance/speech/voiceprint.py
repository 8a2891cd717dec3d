"""Voice prints for enrolment: a manager's voice, from a few of their calls, as the diarizer describes a party."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from pydantic import BaseModel, Field

from compliance.errors import AudioError
from compliance.scoring.script import SalesScript

from .decode import decode_audio
from .diarize import _frame_range, _print, mfcc
from .engine import TranscribeOptions
from .transcribe import transcribe_file

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
    return _print(feats, spans), ""


def enroll(paths: Sequence[Path], options: TranscribeOptions, script: Optional[SalesScript], *, model=None,
           cache_dir: Optional[Path] = None) -> Enrolment:
    """A manager's voice print: the mean of their prints in ``paths``; a call that cannot give one is skipped."""
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
        out.vector = [round(float(v), 4) for v in np.mean(np.array(prints), axis=0)]
    return out
