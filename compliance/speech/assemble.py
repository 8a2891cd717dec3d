"""What was recognised becomes the call's transcript: two channels merged (``channels``) or one channel split
into its parties (``parties``), with the notes, talk metrics and recognition quality of the call."""
from __future__ import annotations

from typing import Optional

import numpy as np

from compliance.messages import Message
from compliance.scoring.quality import RecognitionQuality, rate_call
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript

from .cache import _Recognised
from .channels import (
    _background_below,
    _choose_manager,
    _merge_channels,
    _mono_segments,
    _side,
    _split_background,
    _words,
    measure_talk,
)
from .engine import TranscribeOptions
from .parties import assemble_mono


def assemble_transcript(recognised: _Recognised, source: str, options: TranscribeOptions,
              script: Optional[SalesScript], voice: Optional[list[float]] = None) -> Transcript:
    """The call as a transcript from what was recognised: two channels merged by word times with the manager's
    chosen, or one channel split into the parties (``parties``), with notes, talk metrics and quality."""
    transcript = Transcript(source=source, language=recognised.language, duration=recognised.duration,
                            model=recognised.model)
    for message in recognised.notes:
        transcript.note(message)
    if recognised.dropped:
        transcript.note(Message(code="dropped", params={"count": recognised.dropped}))
    quiet = _background_below(recognised, options)
    if len(recognised.channels) == 1 and recognised.diarization is not None and options.diarize:
        assemble_mono(recognised, transcript, script, voice)
        manager = None   # one channel holds both parties: its quality is the call's, not one side's
    elif len(recognised.channels) == 1:
        transcript.segments = _mono_segments(recognised.channels[0], quiet[0])
        transcript.note(Message(code="mono"))
        manager = None
    else:
        manager, note = _choose_manager(recognised, options, script)
        transcript.segments = _merge_channels(recognised.channels, manager, quiet)
        transcript.manager_channel = "left" if manager == 0 else "right"
        transcript.talk = measure_talk(recognised.channels, manager, transcript.segments, recognised.duration,
                                       quiet)
        if note:
            transcript.note(note)
        empty = [i for i, c in enumerate(recognised.channels) if not c]
        if len(empty) == 1:
            who = "manager" if empty[0] == manager else "client"
            transcript.note(Message(code=f"channel_silent_{who}", params={**_side(empty[0])}))
    if not transcript.segments:
        transcript.note(Message(code="no_speech_recognised"))
    transcript.quality = _quality(recognised, manager, quiet)
    return transcript


def _quality(recognised: _Recognised, manager: Optional[int], quiet: list[Optional[float]]
             ) -> Optional[RecognitionQuality]:
    """Each channel's measures with whose channel it is and how many words were background, rated."""
    if len(recognised.quality) != len(recognised.channels):
        return None  # a cache from before the measures
    channels = []
    for c, q in enumerate(recognised.quality):
        q = q.model_copy()
        words = _words(recognised.channels[c])
        background = _split_background(words, quiet[c])[1]
        q.background_words = len(background)
        levels = [w.level for w in background if w.level is not None]
        q.background_db = round(float(np.median(levels)), 1) if levels else None
        if manager is not None:
            q.channel = ("left", "right")[c]
            q.speaker = "manager" if c == manager else "client"
        channels.append(q)
    return rate_call(channels)
