"""Speech recognition with faster-whisper, one channel per party, and the transcript cache.

The only module that imports faster_whisper. A recording becomes a ``Transcript``:

1. the file's bytes are hashed; a cached result for (audio, model, recognition options) is reused;
2. otherwise each channel is decoded (``audio.decode_audio``) and recognised on its own, with guards
   against text hallucinated in silence and repetition loops; the per-channel words are cached;
3. two channels become two speakers: the turns are merged in time order by *word* timestamps (a
   Whisper segment can span 30 s and several turns), the manager's channel is given or chosen by
   which channel matches the script better, and talk metrics are measured. One channel stays one
   "unknown" speaker.

Step 3 runs on every call, so re-scoring with an edited script never transcribes again.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from compliance.speech.decode import AUDIO_EXTENSIONS, SAMPLE_RATE, DecodedAudio, audio_hash, decode_audio
from compliance.errors import ModelError
from compliance.speech.model import EXTRA_HINT, assemble_default_model, cache_root
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Segment, TalkMetrics, Transcript, Word

__all__ = ["AUDIO_EXTENSIONS", "TranscribeOptions", "audio_hash", "load_model", "transcribe_file",
           "default_cache_dir"]

# Bump when recognition or post-processing changes what a cached transcript would contain.
PIPELINE_VERSION = 1
DEFAULT_MODEL_ALIASES = frozenset({"base", "whisper-base"})
_LOCAL_NOT_CACHE_KEY = {"device", "compute_type", "threads", "manager_channel"}


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
    language: Optional[str] = "ru"          # None or "auto": detect per channel
    manager_channel: Literal["left", "right", "auto"] = "auto"
    beam_size: int = Field(default=5, ge=1, le=10)
    batched: bool = True                    # BatchedInferencePipeline: VAD chunks decoded in batches
    batch_size: int = Field(default=8, ge=1, le=64)
    vad: bool = True
    vad_min_silence_ms: int = Field(default=500, ge=50)
    no_speech_threshold: float = 0.6        # with log_prob_threshold: a segment is silence
    log_prob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    silence_db: float = -45.0               # a segment this quiet (RMS, dBFS) is silence …
    silence_logprob: float = -0.7           # … and dropped when the model is this unsure of it
    max_repeats: int = Field(default=3, ge=1)  # an n-gram said more times in a row is a loop: cut
    fill_gaps: bool = True                  # decode again speech the first pass left without words

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


# ---------------------------------------------------------------------------------------------------
# The model


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
            raise ModelError(f"{name}: not a CTranslate2 model folder (no model.bin)")
        st = model_bin.stat()
        return _Resolved(source=str(path.resolve()), identity=f"dir:{path.resolve()}:{st.st_size}:{st.st_mtime_ns}",
                         label=path.name)
    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a hub id is "owner/name"
        raise ModelError(f"{name}: no such model folder")
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
    threads = options.threads or _cpu_count()
    key = (resolved.source, device, compute, threads)
    with _MODELS_LOCK:
        if key not in _MODELS:
            from faster_whisper import WhisperModel

            try:
                model = WhisperModel(resolved.source, device=device, compute_type=compute, cpu_threads=threads)
            except Exception as exc:  # noqa: BLE001 - ctranslate2/hub raise many kinds; one clear message
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ModelError(f"cannot load speech model {options.model!r} on {device}/{compute} ({reason}); "
                                 f"for the default model: {EXTRA_HINT}") from None
            model.compliance_label = resolved.label  # type: ignore[attr-defined]
            _MODELS[key] = model
        return _MODELS[key]


# ---------------------------------------------------------------------------------------------------
# Recognising one channel


_WINDOW = 30 * SAMPLE_RATE  # Whisper hears 30 s at a time


def _speech_regions(audio: np.ndarray, options: TranscribeOptions) -> list[tuple[int, int]]:
    """Where the VAD hears speech (sample ranges, each at most 30 s)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=options.vad_min_silence_ms, max_speech_duration_s=30)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(audio, vad)]


def _windows(audio: np.ndarray, regions: list[tuple[int, int]], options: TranscribeOptions) -> list[list[tuple[int, int]]]:
    """Group speech regions into ≤ 30 s windows (speech only, as the batched pipeline does); without
    VAD, the audio is cut into plain 30 s windows."""
    if not options.vad:
        return [[(s, min(s + _WINDOW, len(audio)))] for s in range(0, len(audio), _WINDOW)]
    windows: list[list[tuple[int, int]]] = []
    size = 0
    for start, end in regions:
        if windows and size + (end - start) <= _WINDOW:
            windows[-1].append((start, end))
            size += end - start
        else:
            windows.append([(start, end)])
            size = end - start
    return windows


def _original_time(pieces: list[tuple[int, int]], t: float) -> float:
    """A time inside a window (its pieces laid end to end) → the time in the channel."""
    offset = 0.0
    for start, end in pieces:
        length = (end - start) / SAMPLE_RATE
        if t < offset + length:
            return start / SAMPLE_RATE + (t - offset)
        offset += length
    return pieces[-1][1] / SAMPLE_RATE + (t - offset)


def _decode_batched(model, channels: list[np.ndarray], regions: list[list[tuple[int, int]]],
                    options: TranscribeOptions) -> tuple[list[list], Optional[str]]:
    """Every window of every channel in one BatchedInferencePipeline run (fuller batches: ~12 % faster on
    stereo calls than one run per channel), then each word back to its channel and time."""
    import dataclasses

    from faster_whisper import BatchedInferencePipeline

    slots = [(c, w) for c, audio in enumerate(channels) for w in _windows(audio, regions[c], options)]
    out: list[list] = [[] for _ in channels]
    if not slots:
        return out, options.language
    # each window in its own 30 s slot of one array; clip_timestamps tell the pipeline where they are
    packed = np.zeros(_WINDOW * len(slots), dtype=np.float32)
    clips = []
    for k, (c, pieces) in enumerate(slots):
        audio = np.concatenate([channels[c][a:b] for a, b in pieces])
        packed[k * _WINDOW:k * _WINDOW + len(audio)] = audio
        clips.append({"start": k * 30.0, "end": k * 30.0 + len(audio) / SAMPLE_RATE})
    segments, info = BatchedInferencePipeline(model).transcribe(
        packed, clip_timestamps=clips, batch_size=options.batch_size, language=options.language,
        beam_size=options.beam_size, word_timestamps=True, condition_on_previous_text=False)
    for seg in segments:  # the generator runs the model
        if not seg.words:
            continue
        k = min(int(seg.start // 30), len(slots) - 1)
        c, pieces = slots[k]
        words = []
        for w in seg.words:
            # map both ends through the piece that holds the word's middle, as faster-whisper does
            middle = (w.start + w.end) / 2 - k * 30
            at = _original_time(pieces, middle)
            words.append(dataclasses.replace(w, start=at - (middle - (w.start - k * 30)),
                                             end=at + (w.end - k * 30 - middle)))
        out[c].append(dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words))
    return out, info.language


def _decode_sequential(model, audio: np.ndarray, options: TranscribeOptions) -> tuple[list, Optional[str]]:
    segments, info = model.transcribe(
        audio, language=options.language, beam_size=options.beam_size, word_timestamps=True,
        condition_on_previous_text=False, no_speech_threshold=options.no_speech_threshold,
        log_prob_threshold=options.log_prob_threshold, compression_ratio_threshold=options.compression_ratio_threshold,
        vad_filter=options.vad, vad_parameters={"min_silence_duration_ms": options.vad_min_silence_ms},
        hallucination_silence_threshold=2.0)
    return list(segments), info.language


def _uncovered_speech(regions: list[tuple[int, int]], segments: list, min_gap: float) -> list[tuple[float, float]]:
    """Stretches where the VAD hears speech but no word was recognised (a turn the decoder skipped)."""
    covered = sorted((w.start - 0.3, w.end + 0.3) for s in segments for w in (s.words or []))
    gaps: list[tuple[float, float]] = []
    for region in regions:
        cursor, end = region[0] / SAMPLE_RATE + 0.3, region[1] / SAMPLE_RATE - 0.3  # the VAD pads regions
        for a, b in covered:
            if b <= cursor or a >= end:
                continue
            if a - cursor >= min_gap:
                gaps.append((cursor, a))
            cursor = max(cursor, b)
        if end - cursor >= min_gap:
            gaps.append((cursor, end))
    merged: list[tuple[float, float]] = []
    for a, b in gaps:  # one skipped turn is decoded as one piece
        if merged and a - merged[-1][1] < 0.5:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _fill_gaps(model, audio: np.ndarray, regions: list[tuple[int, int]], segments: list,
               options: TranscribeOptions) -> list:
    """Decode skipped speech again on its own and add it: batched beam search was seen to end a window
    after the first speaker's sentence and drop the other party's whole turn on mono recordings."""
    import dataclasses

    added = []
    for a, b in _uncovered_speech(regions, segments, min_gap=0.8):
        lo, hi = max(0, int((a - 0.3) * SAMPLE_RATE)), int((b + 0.3) * SAMPLE_RATE)
        offset = lo / SAMPLE_RATE
        found, _ = model.transcribe(audio[lo:hi], language=options.language, beam_size=options.beam_size,
                                    word_timestamps=True, condition_on_previous_text=False, vad_filter=False,
                                    no_speech_threshold=options.no_speech_threshold,
                                    log_prob_threshold=options.log_prob_threshold)
        for seg in found:
            words = [dataclasses.replace(w, start=w.start + offset, end=w.end + offset) for w in (seg.words or [])]
            added.append(dataclasses.replace(seg, start=seg.start + offset, end=seg.end + offset, words=words))
    return sorted(segments + added, key=lambda s: s.start)


_HALLUCINATIONS = (
    # what Whisper says over silence after training on subtitled video (ru and en)
    "субтитры", "продолжение следует", "редактор субтитров", "корректор", "спасибо за просмотр",
    "подписывайтесь на канал", "ставьте лайки", "dimatorzok", "amara org", "thanks for watching",
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _plain(text: str) -> str:
    return " ".join(_WORD.findall(text.lower().replace("ё", "е")))


def _rms_db(audio: np.ndarray, start: float, end: float) -> float:
    piece = audio[int(start * SAMPLE_RATE):max(int(end * SAMPLE_RATE), int(start * SAMPLE_RATE) + 1)]
    if piece.size == 0:
        return -120.0
    return 20 * float(np.log10(max(float(np.sqrt(np.mean(piece.astype(np.float64) ** 2))), 1e-6)))


def _cut_loops(words: list[Word], max_repeats: int) -> list[Word]:
    """Drop n-grams (n ≤ 4) repeated more than ``max_repeats`` times in a row: a decoding loop."""
    keys = [_plain(w.word) for w in words]
    keep = [True] * len(words)
    for n in range(1, 5):
        i = 0
        while i + n <= len(keys):
            gram, reps, j = keys[i:i + n], 1, i + n
            while j + n <= len(keys) and keys[j:j + n] == gram and all(keep[j:j + n]):
                reps, j = reps + 1, j + n
            if reps > max_repeats and any(gram):
                for k in range(i + n * max_repeats, j):
                    keep[k] = False
                i = j
            else:
                i += 1
    return [w for w, k in zip(words, keep) if k]


def _is_hallucination(seg, audio: np.ndarray, options: TranscribeOptions) -> bool:
    plain = _plain(seg.text)
    if not plain:
        return True
    if seg.no_speech_prob > options.no_speech_threshold and seg.avg_logprob < options.log_prob_threshold:
        return True  # faster-whisper's own silence rule (the batched pipeline does not apply it)
    if any(h in plain for h in _HALLUCINATIONS) and len(plain.split()) <= 8:
        return True
    quiet = _rms_db(audio, seg.start, seg.end) < options.silence_db
    return quiet and (seg.avg_logprob < options.silence_logprob or seg.no_speech_prob > options.no_speech_threshold)


def _clean(raw: list, audio: np.ndarray, options: TranscribeOptions) -> tuple[list[Segment], int]:
    """Whisper segments → our segments (speaker unknown), without the hallucinated ones; and how many went."""
    out: list[Segment] = []
    dropped = 0
    for seg in raw:
        if _is_hallucination(seg, audio, options):
            dropped += 1
            continue
        words = [Word(word=w.word.strip(), start=round(w.start, 3), end=round(w.end, 3),
                      probability=round(w.probability, 3)) for w in (seg.words or []) if w.word.strip()]
        words = _cut_loops(words, options.max_repeats)
        if not words:
            dropped += 1
            continue
        out.append(Segment(text=" ".join(w.word for w in words), start=words[0].start, end=words[-1].end,
                           words=words))
    return out, dropped


def _recognise(model, channels: list[np.ndarray], options: TranscribeOptions) -> tuple[list[list[Segment]], Optional[str], int]:
    """Channels → each one's segments, the language, and how many segments were dropped as hallucinated."""
    regions = [_speech_regions(audio, options) for audio in channels]
    if options.batched:
        raw, language = _decode_batched(model, channels, regions, options)
    else:
        decoded = [_decode_sequential(model, audio, options) for audio in channels]
        raw, language = [r for r, _ in decoded], decoded[0][1]
    result, dropped = [], 0
    for c, audio in enumerate(channels):
        segments = _fill_gaps(model, audio, regions[c], raw[c], options) if options.fill_gaps else raw[c]
        cleaned, n = _clean(segments, audio, options)
        result.append(cleaned)
        dropped += n
    return result, language, dropped


# ---------------------------------------------------------------------------------------------------
# The cache: per-channel recognition results


class _Recognised(BaseModel):
    """What the cache keeps: each channel's words, before speakers are assigned."""

    version: int = PIPELINE_VERSION
    key: str
    audio_sha256: str
    channels: list[list[Segment]]
    duration: float
    language: Optional[str] = None
    model: str
    notes: list[str] = Field(default_factory=list)
    dropped: int = 0


def _cache_key(digest: str, resolved: _Resolved, options: TranscribeOptions) -> str:
    payload = json.dumps({"audio": digest, "model": resolved.identity, "options": options.cache_key()},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def _read_cache(path: Path, key: str) -> Optional[_Recognised]:
    try:
        cached = _Recognised.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None  # missing or damaged: recognise again and overwrite
    return cached if cached.key == key and cached.version == PIPELINE_VERSION else None


def _write_cache(path: Path, recognised: _Recognised) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(recognised.model_dump_json(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs time, never a result


def _recognise_file(decoded: DecodedAudio, model, options: TranscribeOptions, key: str, digest: str,
                    label: str) -> _Recognised:
    channels, language, dropped = _recognise(model, decoded.channels, options)
    return _Recognised(key=key, audio_sha256=digest, channels=channels, duration=round(decoded.duration, 3),
                       language=options.language or language, model=label, notes=list(decoded.notes),
                       dropped=dropped)


# ---------------------------------------------------------------------------------------------------
# From channels to a two-party transcript


class _Utterance(BaseModel):
    channel: int
    start: float
    end: float
    words: list[Word]


def _words(segments: list[Segment]) -> list[Word]:
    return sorted((w for s in segments for w in s.words if w.start is not None), key=lambda w: w.start)


def _utterances(channel: int, words: list[Word], other: list[Word], pause: float) -> list[_Utterance]:
    """Split one channel's words where the other party speaks in a gap between them (or at a long pause).

    A backchannel said over continuous speech does not split it; it follows it.
    """
    spans = np.array([(w.start, w.end if w.end is not None else w.start) for w in other], dtype=float).reshape(-1, 2)
    out: list[_Utterance] = []
    for w in words:
        if out:
            last = out[-1].words[-1]
            gap_start, gap_end = (last.end if last.end is not None else last.start), w.start
            other_spoke = bool(np.any((spans[:, 0] < gap_end) & (spans[:, 1] > gap_start))) if gap_end > gap_start else False
            if not other_spoke and gap_end - gap_start < pause:
                out[-1].words.append(w)
                out[-1].end = max(out[-1].end, w.end if w.end is not None else w.start)
                continue
        out.append(_Utterance(channel=channel, start=w.start, end=w.end if w.end is not None else w.start, words=[w]))
    return out


def _segment(words: list[Word], speaker: str) -> Segment:
    return Segment(text=" ".join(w.word for w in words), speaker=speaker, start=words[0].start,
                   end=max(w.end or w.start for w in words), words=words)


def _merge_channels(channels: list[list[Segment]], manager: int) -> list[Segment]:
    """Two channels → turns in time order, merged by word timestamps."""
    words = [_words(c) for c in channels]
    utts = _utterances(0, words[0], words[1], 1e9) + _utterances(1, words[1], words[0], 1e9)
    utts.sort(key=lambda u: (u.start, u.channel))
    turns: list[tuple[int, list[Word]]] = []
    for u in utts:
        if turns and turns[-1][0] == u.channel:
            turns[-1][1].extend(u.words)
        else:
            turns.append((u.channel, list(u.words)))
    return [_segment(ws, "manager" if ch == manager else "client") for ch, ws in turns]


def _mono_segments(channel: list[Segment]) -> list[Segment]:
    """One channel: segments split at pauses of half a second or more, speaker unknown."""
    utts = _utterances(0, _words(channel), [], 0.5)
    return [_segment(u.words, "unknown") for u in utts]


def _spans(words: list[Word], join: float = 0.5) -> list[tuple[float, float]]:
    spans: list[list[float]] = []
    for w in words:
        end = w.end if w.end is not None else w.start
        if spans and w.start - spans[-1][1] <= join:
            spans[-1][1] = max(spans[-1][1], end)
        else:
            spans.append([w.start, end])
    return [(a, b) for a, b in spans]


def _union_length(spans: list[tuple[float, float]]) -> float:
    total, cur_a, cur_b = 0.0, None, None
    for a, b in sorted(spans):
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    return total + ((cur_b - cur_a) if cur_b is not None else 0.0)


def _overlaps(spans: list[tuple[float, float]], other: list[tuple[float, float]], margin: float = 0.2) -> int:
    return sum(1 for a, _ in spans if any(oa + margin <= a <= ob - margin for oa, ob in other))


def measure_talk(channels: list[list[Segment]], manager: int, turns: list[Segment], duration: float) -> TalkMetrics:
    """Talk share, longest manager monologue, interruptions and silence of a two-channel call."""
    spans = [_spans(_words(c)) for c in channels]
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
    )


_SIDES = ("левый", "правый")


def _channel_fit(channel: list[Segment], script: SalesScript) -> float:
    """How well one channel's speech alone follows the script (-1: no speech, or an answering machine)."""
    from compliance.scoring.score import MatchOptions, score_call

    if not channel:
        return -1.0
    alone = Transcript(segments=[s.model_copy(update={"speaker": "unknown"}) for s in channel])
    lenient = MatchOptions(min_words=0, min_client_words=0, min_turns=0, min_party_speech=0, min_two_party_speech=0)
    result = score_call(alone, script, "newcomer", lenient)
    return result.adherence if result.adherence is not None else -1.0


def _choose_manager(recognised: _Recognised, options: TranscribeOptions,
                    script: Optional[SalesScript]) -> tuple[int, Optional[str]]:
    """The manager's channel: as given, else the one that follows the script better, else the one that
    talks more, else the left one (the usual recorder convention)."""
    if options.manager_channel != "auto":
        return (0 if options.manager_channel == "left" else 1), None
    channels = recognised.channels
    if not channels[0] and not channels[1]:
        return 0, None
    hint = "; задайте --manager-channel, если это не так"
    if script is not None:
        fit = [_channel_fit(c, script) for c in channels]
        if fit[0] != fit[1] and max(fit) > 0:
            best = int(fit[1] > fit[0])
            shown = [f"{f:.0f} %" if f >= 0 else "нет" for f in fit]
            return best, (f"Канал менеджера выбран автоматически: {_SIDES[best]} — его речь ближе к скрипту "
                          f"({shown[best]} против {shown[1 - best]}){hint}")
    if channels[0] and channels[1]:
        speech = [_union_length(_spans(_words(c))) for c in channels]
        best = int(speech[1] > speech[0])
        return best, (f"Канал менеджера выбран автоматически: {_SIDES[best]} — в нём больше речи "
                      f"({speech[best]:.0f} с против {speech[1 - best]:.0f} с){hint}")
    return 0, f"Канал менеджера не определить по речи: принят левый{hint}"


def _assemble(recognised: _Recognised, source: str, options: TranscribeOptions,
              script: Optional[SalesScript]) -> Transcript:
    notes = list(recognised.notes)
    if recognised.dropped:
        notes.append(f"Отброшено фрагментов, распознанных в тишине или зациклившихся: {recognised.dropped}")
    transcript = Transcript(source=source, language=recognised.language, duration=recognised.duration,
                            model=recognised.model)
    if len(recognised.channels) == 1:
        transcript.segments = _mono_segments(recognised.channels[0])
        notes.append("Моно-запись: менеджер и клиент не разделены, звонок оценён по всему тексту")
    else:
        manager, note = _choose_manager(recognised, options, script)
        transcript.segments = _merge_channels(recognised.channels, manager)
        transcript.manager_channel = "left" if manager == 0 else "right"
        transcript.talk = measure_talk(recognised.channels, manager, transcript.segments, recognised.duration)
        if note:
            notes.append(note)
        empty = [i for i, c in enumerate(recognised.channels) if not c]
        if len(empty) == 1:
            who = "менеджера" if empty[0] == manager else "клиента"
            notes.append(f"В канале {who} ({_SIDES[empty[0]]}) речи нет")
    if not transcript.segments:
        notes.append("В записи не распознано речи")
    transcript.notes = notes
    return transcript


def transcribe_file(path: str | Path, options: TranscribeOptions | None = None, *, model=None,
                    cache_dir: str | Path | None = None, script: Optional[SalesScript] = None) -> Transcript:
    """Transcribe one recording (cached by audio content, model and recognition options).

    Args:
        path: the recording.
        options: recognition options (defaults: ``TranscribeOptions()``).
        model: a model from ``load_model(options)``; loaded on a cache miss when not given.
        cache_dir: the transcript cache folder (default: ``default_cache_dir()``).
        script: used to pick the manager's channel when ``manager_channel`` is ``auto``.

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
    if recognised is None:
        decoded = decode_audio(path)
        model = model if model is not None else load_model(options)
        recognised = _recognise_file(decoded, model, options, key, digest, resolved.label)
        _write_cache(entry, recognised)
    return _assemble(recognised, str(path), options, script)
