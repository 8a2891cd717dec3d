"""Decode recordings in-process with PyAV (the FFmpeg libraries faster-whisper bundles; no ffmpeg binary).

A call recording is one channel (a mix of both parties) or two (one party per channel, as call recorders
and telephony platforms write them). Everything is resampled to 16 kHz float32, the rate Whisper expects.
"""
from __future__ import annotations

import gc
import hashlib
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from compliance.errors import AudioError
from compliance.messages import Message
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import ffmpeg_reason

from .legs import legs

SAMPLE_RATE = 16000
# Recorder, messenger and browser formats that batch mode picks up from a folder.
AUDIO_EXTENSIONS: frozenset[str] = frozenset({
    ".wav", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".flac", ".webm", ".mka", ".amr", ".3gp",
})
# Channels this close to each other are one mix saved twice, not two parties.
_SAME_CHANNEL_TOLERANCE = 0.02
_SAME_CHANNEL_CORRELATION = 0.98
# A channel this quiet over the whole file (dBFS RMS) holds no one: digital silence or a dead line.
_SILENT_DB = -60.0


class DecodedAudio(BaseModel):
    """A recording as 16 kHz float32 channels."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    channels: list[Any]               # one or two numpy float32 arrays of equal length
    sample_rate: int = SAMPLE_RATE
    source_channels: int              # channels in the file
    source_rate: int                  # sample rate in the file
    codec: str = ""
    messages: list[Message] = []

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / self.sample_rate if self.channels else 0.0

    @property
    def stereo(self) -> bool:
        return len(self.channels) == 2


def audio_hash(path: str | Path) -> str:
    """The sha256 (hex) of the file's bytes: the recording's identity for caches and the store (of both files'
    bytes for a PBX leg pair, ``speech.legs``).

    Raises:
        AudioError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        for part in legs(path) or (Path(path),):
            with open(part, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    digest.update(chunk)
    except FileNotFoundError:
        raise AudioError(say("err.audio.missing", path=path)) from None
    except IsADirectoryError:
        raise AudioError(say("err.audio.folder", path=path)) from None
    except OSError as exc:
        raise AudioError(say("err.audio.unreadable", path=path, why=os_reason(exc))) from None
    return digest.hexdigest()


def _fail(path: str | Path, reason: str) -> AudioError:
    return AudioError(say("err.audio.undecodable", path=path, why=reason))


def _decode_stream(container, stream, layout: str) -> np.ndarray:
    import av

    resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
    pieces: list[np.ndarray] = []
    frames = container.decode(stream)
    while True:
        try:
            frame = next(frames)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            continue  # a damaged frame in the middle: keep the rest of the call (as faster-whisper does)
        frame.pts = None
        pieces.extend(f.to_ndarray() for f in resampler.resample(frame))
    pieces.extend(f.to_ndarray() for f in resampler.resample(None))
    del resampler
    gc.collect()  # PyAV's resampler holds buffers until collected (faster-whisper issue #390)
    n = 2 if layout == "stereo" else 1
    return np.concatenate(pieces, axis=1) if pieces else np.zeros((n, 0), dtype=np.float32)


def _same_channels(left: np.ndarray, right: np.ndarray) -> bool:
    """The same mix twice: equal within a tolerance, or (after lossy coding, at another level) nearly perfectly
    correlated."""
    scale = max(float(np.abs(left).max(initial=0.0)), float(np.abs(right).max(initial=0.0)), 1e-9)
    if float(np.abs(left - right).max(initial=0.0)) <= _SAME_CHANNEL_TOLERANCE * scale:
        return True
    a, b = left.astype(np.float64) - left.mean(), right.astype(np.float64) - right.mean()
    norm = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return norm > 0 and float((a * b).sum()) / norm >= _SAME_CHANNEL_CORRELATION


def _rms_db(x: np.ndarray) -> float:
    return 20 * float(np.log10(max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) if x.size else 0.0, 1e-9)))


def _silent_channel(channels: list[np.ndarray]) -> int | None:
    """The channel that holds nothing (a recorder that wrote the mix to one side) while the other has sound."""
    level = [_rms_db(c) for c in channels]
    quiet = int(level[1] < level[0])
    return quiet if level[quiet] < _SILENT_DB and level[1 - quiet] > _SILENT_DB + 20 else None


def decode_audio(path: str | Path) -> DecodedAudio:
    """Decode a recording (wav, mp3, ogg/opus, m4a/aac, flac, webm, amr, …) to 16 kHz channels.

    Two channels stay two (one party each); a stereo file whose channels are the same mix, whose one channel is
    silent (the mix was written to the other), or a file with more than two channels, is mixed down to one. A PBX
    leg pair (``NAME-in``/``NAME-out``, ``speech.legs``) is one two-channel call, ``-in`` on the left.

    Raises:
        AudioError: ``FILE: cannot decode audio (why)`` for a missing, empty, damaged or non-audio file.
    """
    pair = legs(path)
    if pair is None:
        return _decode_one(Path(path))
    sides = [_decode_one(p) for p in pair]
    mono = [s.channels[0] if len(s.channels) == 1 else (s.channels[0] + s.channels[1]) / 2 for s in sides]
    length = max(len(m) for m in mono)
    channels = [np.pad(m, (0, length - len(m))).astype(np.float32) for m in mono]
    return DecodedAudio(channels=channels, source_channels=2, source_rate=sides[0].source_rate, codec=sides[0].codec,
                        messages=[Message(code="legs_joined", params={"other": pair[1].name})])


def _decode_one(path: Path) -> DecodedAudio:
    import av

    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioError(say("err.audio.missing", path=path)) from None
    if path.is_dir():
        raise AudioError(say("err.audio.folder", path=path))
    if size == 0:
        raise _fail(path, say("err.audio.empty"))
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise _fail(path, say("err.audio.no_stream"))
            stream = container.streams.audio[0]
            ctx = stream.codec_context
            n_channels = ctx.channels or 1
            source_rate = ctx.sample_rate or 0
            codec = ctx.name or ""
            data = _decode_stream(container, stream, "stereo" if n_channels == 2 else "mono")
    except AudioError:
        raise
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, EOFError) as exc:
        raise _fail(path, ffmpeg_reason(exc)) from None
    if data.shape[1] == 0:
        raise _fail(path, say("err.audio.no_samples"))
    messages: list[Message] = []
    channels = [np.ascontiguousarray(c, dtype=np.float32) for c in data]
    if n_channels > 2:
        messages.append(Message(code="channels_mixed", params={"channels": n_channels}))
    if len(channels) == 2 and _same_channels(channels[0], channels[1]):
        channels = [((channels[0] + channels[1]) / 2).astype(np.float32)]
        messages.append(Message(code="channels_same"))
    elif len(channels) == 2 and (quiet := _silent_channel(channels)) is not None:
        channels = [channels[1 - quiet]]
        messages.append(Message(code="channel_empty_mono", params={"side_ru": ("левый", "правый")[quiet],
                                                                   "side_en": ("left", "right")[quiet]}))
    return DecodedAudio(channels=channels, source_channels=n_channels, source_rate=source_rate,
                        codec=codec, messages=messages)
