"""Speech recognition with faster-whisper, one channel per party, and the transcript cache.

The speech package is the only one that imports faster_whisper (engine, recognise). A recording becomes a ``Transcript``:

1. the file's bytes are hashed; a cached result for (audio, model, recognition options) is reused;
2. otherwise each channel is decoded (``speech.decode``) and recognised on its own, with guards
   against text hallucinated in silence and repetition loops; the per-channel words are cached;
3. two channels become two speakers: the turns are merged in time order by *word* timestamps (a
   Whisper segment can span 30 s and several turns), the manager's channel is given or chosen by
   which channel matches the script better, and talk metrics are measured. One channel stays one
   "unknown" speaker.

Step 3 runs on every call, so re-scoring with an edited script never transcribes again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.speech.decode import (
    AUDIO_EXTENSIONS,
    DecodedAudio,
    audio_hash,
    decode_audio,
)

from .assemble import assemble_transcript
from .cache import _cache_key, _read_cache, _Recognised, _write_cache
from .diarize import DIARIZE_VERSION, diarization_method
from .engine import TranscribeOptions, _resolve_model, default_cache_dir, load_model
from .parties import diarize_channel
from .recognise import Heard, _recognise, recognising, speech_heard

__all__ = ["AUDIO_EXTENSIONS", "TranscribeOptions", "audio_hash", "load_model", "transcribe_file",
           "default_cache_dir"]


def _recognise_file(decoded: DecodedAudio, model, options: TranscribeOptions, key: str, digest: str,
                    label: str, found: Optional[Heard] = None) -> _Recognised:
    channels, language, dropped, quality = _recognise(model, decoded.channels, options, found)
    return _Recognised(key=key, audio_sha256=digest, channels=channels, duration=round(decoded.duration, 3),
                       language=options.language or language, model=label, notes=list(decoded.messages),
                       dropped=dropped, quality=quality)


def _audio_and_model(path: Path, options: TranscribeOptions, model) -> tuple[DecodedAudio, Optional[Heard], Any]:
    """The recording decoded and its speech found, and the model: when the model is still to load, it loads here
    while a thread decodes the audio and runs the VAD (each mostly on one core; they ran in turn). A recording that
    cannot be decoded is reported before a model that cannot load, as before."""
    if model is not None:
        return decode_audio(path), None, model
    import concurrent.futures as cf

    def heard() -> tuple[DecodedAudio, Heard]:
        decoded = decode_audio(path)
        return decoded, speech_heard(decoded.channels, options)

    # the model loads on this thread: CTranslate2's replicas decode slowly when created on another one
    with cf.ThreadPoolExecutor(max_workers=1, thread_name_prefix="audio") as pool:
        audio = pool.submit(heard)
        try:
            model = load_model(options)
        finally:
            decoded, found = audio.result()
    return decoded, found, model


def transcribe_file(path: str | Path, options: TranscribeOptions | None = None, *, model=None,
                    cache_dir: str | Path | None = None, script: Optional[SalesScript] = None,
                    voice: Optional[list[float]] = None) -> Transcript:
    """Transcribe one recording (cached by audio content, model and recognition options).

    Args:
        path: the recording.
        options: recognition options (defaults: ``TranscribeOptions()``).
        model: a model from ``load_model(options)``; loaded on a cache miss when not given.
        cache_dir: the transcript cache folder (default: ``default_cache_dir()``).
        script: used to pick the manager's channel when ``manager_channel`` is ``auto``, and the manager's party
            of a one-channel call.
        voice: the manager's enrolled voice print (``team enroll``): picks their party of a one-channel call.

    Raises:
        AudioError: the file is missing or cannot be decoded.
        ModelError: the model is needed and cannot be loaded.
    """
    options = options or TranscribeOptions()
    path = Path(path)
    digest = audio_hash(path)
    resolved = _resolve_model(options.model)
    key = _cache_key(digest, resolved, options)
    entry = Path(cache_dir or default_cache_dir()) / f"{key}.json"
    recognised = _read_cache(entry, key)
    decoded: Optional[DecodedAudio] = None
    changed = recognised is None
    if recognised is None:
        with recognising():
            decoded, found, model = _audio_and_model(path, options, model)
            recognised = _recognise_file(decoded, model, options, key, digest, resolved.label, found)
    if options.diarize and len(recognised.channels) == 1 and (
            recognised.diarization is None or recognised.diarization.method != diarization_method()
            or recognised.diarization.version != DIARIZE_VERSION):
        audio = (decoded or decode_audio(path)).channels[0]
        recognised.diarization = diarize_channel(audio, recognised.channels[0])
        changed = True
    if changed:  # once, with the parties of a one-channel call: an hour's words are not written twice
        _write_cache(entry, recognised)
    return assemble_transcript(recognised, str(path), options, script, voice)
