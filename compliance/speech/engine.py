"""Which model, on which device: recognition options, resolving a model name, loading it once per process."""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from compliance.errors import ModelError
from compliance.resources import cache_root
from compliance.speech.model import EXTRA_HINT, assemble_default_model
from compliance.text.catalogue import say
from compliance.text.third_party import quoted

# Bump when recognition or post-processing changes what a cached transcript would contain.
PIPELINE_VERSION = 8  # 2: notes as message codes; 3: a looped batched segment is decoded again; 4: gaps packed;
# 5: word levels, channel quality, background-only stretches not decoded; 6: another voice's stretches not decoded,
# its words marked (speech.others); 7: the gap pass leaves the other voice's stretches, the noise's swing measured;
# 8: two voices only where quiet speech is heard alone; a short quiet run between the other voice's pieces not decoded


DEFAULT_MODEL_ALIASES = frozenset({"base", "whisper-base"})


# diarize: a one-channel call's parties are added to its cached words when missing, so the switch is not a key;
# background_word_db is applied when the cached words become a transcript
_LOCAL_NOT_CACHE_KEY = {"device", "compute_type", "threads", "parallel", "manager_channel", "diarize",
                        "background_word_db"}


class TranscribeOptions(BaseModel):
    """How recordings are recognised.

    The defaults were chosen by measurement on 2 CPU cores (``benchmarks/transcribe_bench.py --sweep``,
    8.5 min of calls, Whisper base int8): batched beam 5 runs at ~14x real time with 9.6 % WER, against
    7.1x and 9.4 % for faster-whisper's sequential defaults on the downmix; sequential beam 5 with VAD
    per channel was 6.4x / 11.4 %, batched beam 1 16x / 14.6 %, beam 3 15.4x / 9.9 %. Batch 8 peaks at
    ~1.25 GB RSS (batch 4: ~0.8 GB, ~10 % slower). One thread per core (1 thread: 10x).
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    model: str = "base"
    device: str = "auto"                    # auto | cpu | cuda
    compute_type: str = "auto"              # auto: float16 on CUDA, int8 on CPU
    threads: int = Field(default=0, ge=0)   # 0: one per available core
    parallel: int = Field(default=1, ge=1)  # recordings one loaded model decodes at once (a Dask worker's threads)
    language: Optional[str] = "ru"          # None or "auto": detect per channel
    manager_channel: Literal["left", "right", "auto"] = "auto"
    beam_size: int = Field(default=5, ge=1, le=10)
    batched: bool = True                    # BatchedInferencePipeline: VAD chunks decoded in batches
    batch_size: int = Field(default=8, ge=1, le=64)
    vad: bool = True
    # a pause this long ends a speech region. 1000 (was 500): fewer joins inside a turn, the same windows. Manager
    # WER 11.6 → 11.3 % (transcribe_bench's calls) and 13.4 → 13.2 % (twelve others), but 13.8 → 14.0 % on those
    # twelve spoken again (only sox's dither differs): an effect within the noise of a few words, not a gain
    vad_min_silence_ms: int = Field(default=1000, ge=50)
    no_speech_threshold: float = 0.6        # with log_prob_threshold: a segment is silence
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    silence_db: float = -45.0               # a segment this quiet (RMS, dBFS) is silence …
    silence_logprob: float = -0.7           # … and dropped when the model is this unsure of it
    max_repeats: int = Field(default=3, ge=1)  # an n-gram said more times in a row is a loop: cut
    fill_gaps: bool = True                  # decode again speech the first pass left without words
    diarize: bool = True                    # a one-channel call is split into its parties by voice
    # stereo: speech this far below the channel's speaker (dB) is another voice in the room: its stretches are not
    # decoded (speech.levels.loud_parts). 8 (was 12): a colleague 10 dB below reached within 12 dB of the speaker's
    # loud frames on a quarter of the channel, and those stretches were decoded: CPU under noise 1.94x clean at 12,
    # 1.41x at 10, 1.05x at 8 (three calls of the noisy dev set, benchmarks/noise_bench.py); the clean calls' words
    # and windows are the same at 8 and 12 (a speaker's own frames lie within 8 dB of their loud ones). Chosen on
    # the dev set; the fresh set measures it. 0: off
    background_db: float = Field(default=8.0, ge=0)
    # stereo: words this far below the speaker (word RMS against the speaker's loud frames), three or more in a row,
    # are background turns. 8: on the noisy set (benchmarks/noise_bench.py, a colleague 10 dB below) stages a person
    # marks absent reported absent 0.77 -> 0.96, none lost on its clean calls; 12 left most of the colleague's words
    # to the manager. Chosen on that set: it is development data now. 0: off
    background_word_db: float = Field(default=8.0, ge=0)
    # stereo: a quieter voice that is not the channel's speaker (speech.others: a colleague inside the level gates) is
    # not decoded where heard alone, and its words decoded beside the speaker's are background turns. False: off
    other_voices: bool = True

    @field_validator("language")
    @classmethod
    def _language(cls, value: Optional[str]) -> Optional[str]:
        value = (value or "").strip().lower()
        return None if value in ("", "auto") else value

    def cache_key(self) -> dict:
        """The options that change the transcript (not where or how fast it is computed)."""
        key = self.model_dump(exclude=_LOCAL_NOT_CACHE_KEY)
        key["pipeline"] = PIPELINE_VERSION
        return key


def default_cache_dir() -> Path:
    """Where transcripts are cached: ``<cache root>/transcripts``."""
    return cache_root() / "transcripts"


class _Resolved(BaseModel):
    source: str        # what WhisperModel is given: a folder, a size name or a hub id
    identity: str      # what the cache key records
    label: str         # what the transcript records


def _resolve_model(name: str) -> _Resolved:
    if name in DEFAULT_MODEL_ALIASES:
        try:
            folder = assemble_default_model()
        except ModelError as missing:
            try:  # a copy faster-whisper already downloaded is fine too; never download here
                from faster_whisper.utils import download_model

                folder = Path(download_model("base", local_files_only=True))
            except Exception:  # noqa: BLE001 - any failure means: not cached; report the extra
                raise missing from None
        return _Resolved(source=str(folder), identity="whisper-base", label="whisper-base")
    path = Path(name).expanduser()
    if path.is_dir():
        model_bin = path / "model.bin"
        if not model_bin.is_file():
            raise ModelError(say("err.model.not_ct2", name=name))
        st = model_bin.stat()
        return _Resolved(source=str(path.resolve()), identity=f"dir:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}",
                         label=path.name)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a hub id is "owner/name"
        raise ModelError(say("err.model.no_folder", name=name))
    return _Resolved(source=name, identity=f"hub:{name}", label=name)


def _cpu_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _device(options: TranscribeOptions) -> tuple[str, str]:
    device = options.device
    if device == "auto":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    compute = options.compute_type
    if compute == "auto":
        compute = "float16" if device == "cuda" else "int8"
    return device, compute


_MODELS: dict[tuple, Any] = {}


_MODELS_LOCK = threading.Lock()


def load_model(options: TranscribeOptions):
    """Load (once per process) the Whisper model the options name; returns a ``WhisperModel``.

    Raises:
        ModelError: the model is not installed, not found, or cannot be loaded on the device.
    """
    resolved = _resolve_model(options.model)
    device, compute = _device(options)
    threads, workers = options.threads or _cpu_count(), options.parallel
    if device == "cpu" and not options.threads and workers == 1:
        # one replica per core, one thread each: a call's windows are split between them (recognise._lanes).
        # One replica on both cores left a core idle through the beam search's small steps, and the words are
        # then those of a recording decoded beside others (a batch's replicas are one-thread ones too)
        threads, workers = 1, _cpu_count()
    key = (resolved.source, device, compute, threads, workers)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from faster_whisper import WhisperModel

            try:
                model = WhisperModel(resolved.source, device=device, compute_type=compute, cpu_threads=threads,
                                     num_workers=workers)
            except Exception as exc:  # noqa: BLE001 - ctranslate2/hub raise many kinds; one clear message
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ModelError(say("err.model.cannot_load", model=repr(options.model), device=device, compute=compute,
                                     why=quoted(reason), hint=EXTRA_HINT)) from None
            _MODELS[key] = model
        return _MODELS[key]
