"""Recognition: speech regions, batched decoding of both channels, gaps filled, hallucinations and loops dropped."""
from __future__ import annotations

import contextlib
import re
import threading
from typing import Iterator, Optional

import numpy as np

from compliance.scoring.quality import ChannelQuality
from compliance.scoring.transcript import Segment, Word
from compliance.speech.decode import SAMPLE_RATE

from .engine import TranscribeOptions
from .levels import loud_parts, measure_channel, word_level
from .others import channel_voices, other_voice_cuts, other_voice_gaps, other_voice_words

_WINDOW = 30 * SAMPLE_RATE  # Whisper hears 30 s at a time


def _speech_regions(audio: np.ndarray, options: TranscribeOptions) -> list[tuple[int, int]]:
    """Where the VAD hears speech (sample ranges, each at most 30 s)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    vad = VadOptions(min_silence_duration_ms=options.vad_min_silence_ms, max_speech_duration_s=30)
    return [(r["start"], r["end"]) for r in get_speech_timestamps(audio, vad)]


def _decoded_regions(audio: np.ndarray, regions: list[tuple[int, int]],
                     options: TranscribeOptions) -> list[tuple[int, int]]:
    """The speech regions worth decoding: without the stretches where only background speech is heard (another
    voice far below the channel's speaker). The VAD hears that voice as speech, so in a shared room every pause
    became speech to decode: twice the windows, and the colleague's words in the manager's pauses."""
    return loud_parts(audio, regions, options.background_db)


# A piece of a window: (channel, first sample, end sample). A window is pieces laid end to end, ≤ 30 s.
Piece = tuple[int, int, int]


def _windows(channels: list[np.ndarray], regions: list[list[tuple[int, int]]],
             options: TranscribeOptions) -> list[list[Piece]]:
    """Group the speech regions of all channels, in time order, into ≤ 30 s windows (speech only, as the batched
    pipeline does). Both parties share windows: the encoder reads 30 s whatever a window holds, and a stereo call
    packed per channel left half a window empty per channel (52 windows instead of 41 on the spoken benchmark
    calls); the decoder also hears the question before the answer. Without VAD, each channel is cut into plain
    30 s windows."""
    if not options.vad:
        return [[(c, s, min(s + _WINDOW, len(audio)))] for c, audio in enumerate(channels)
                for s in range(0, len(audio), _WINDOW)]
    return _pack(regions)


def _pack(regions: list[list[tuple[int, int]]]) -> list[list[Piece]]:
    """Every channel's regions (each ≤ 30 s), in time order, laid end to end into as few ≤ 30 s windows as that
    order allows."""
    windows: list[list[Piece]] = []
    size = 0
    for start, end, c in sorted((a, b, c) for c, rs in enumerate(regions) for a, b in rs):
        if windows and size + (end - start) <= _WINDOW:
            windows[-1].append((c, start, end))
            size += end - start
        else:
            windows.append([(c, start, end)])
            size = end - start
    return windows


def _locate(pieces: list[Piece], t: float) -> tuple[int, float]:
    """A time inside a window (its pieces laid end to end) → the piece's channel and the time in that channel."""
    offset = 0.0
    for c, start, end in pieces:
        length = (end - start) / SAMPLE_RATE
        if t < offset + length:
            return c, start / SAMPLE_RATE + (t - offset)
        offset += length
    c, _start, end = pieces[-1]
    return c, end / SAMPLE_RATE + (t - offset)


def _decode_batched(model, channels: list[np.ndarray], regions: list[list[tuple[int, int]]],
                    options: TranscribeOptions) -> tuple[list[list], Optional[str]]:
    """Every window in one BatchedInferencePipeline run, then each word back to its channel and time."""
    return _decode_slots(model, channels, _windows(channels, regions, options), options)


_busy = [0]   # recordings being recognised in this process (``recognising``)
_busy_lock = threading.Lock()


@contextlib.contextmanager
def recognising() -> Iterator[None]:
    """Marks a recording being recognised here. While others are too (a batch, ``analyze`` over several files),
    each decodes its windows on one replica, as before ``_lanes``: their replicas are busy already, and splitting
    only made smaller batches (3 spoken calls on 2 loaded cores: 50.6-54.5 s split, 39.2-53.3 s not)."""
    with _busy_lock:
        _busy[0] += 1
    try:
        yield
    finally:
        with _busy_lock:
            _busy[0] -= 1


def _lanes(model, slots: list[list[Piece]], options: TranscribeOptions) -> list[list[list[Piece]]]:
    """``slots`` cut, in order, into one run per decoder the model holds (its CTranslate2 replicas, one per core
    on a CPU): each replica decodes its part at once on its own thread, and the windows of a call recognised
    alone no longer wait for one replica while the others idle (see ``recognising``). Measured on five spoken
    benchmark calls: the same words as one run; a part's first word may start up to 1 s apart (faster-whisper
    clips a word after a pause by the last word it aligned, in the window before). Not when the language is to
    be detected: the pipeline detects it on the first windows it is given."""
    lanes = min(int(getattr(getattr(model, "model", None), "num_workers", 1) or 1), len(slots))
    if lanes < 2 or options.language is None or _busy[0] > 1:
        return [slots]
    size = -(-len(slots) // lanes)
    return [slots[i:i + size] for i in range(0, len(slots), size)]


def _decode_slots(model, channels: list[np.ndarray], slots: list[list[Piece]], options: TranscribeOptions,
                  **decoding: float) -> tuple[list[list], Optional[str]]:
    """Decode ``slots`` (windows of pieces) in batched runs, one per replica of the model, side by side; each
    segment's words are mapped back to their channel and time."""
    parts = _lanes(model, slots, options)
    if len(parts) == 1:
        return _decode_run(model, channels, slots, options, **decoding)
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(max_workers=len(parts) - 1, thread_name_prefix="decode-lane") as pool:
        others = [pool.submit(_decode_run, model, channels, part, options, **decoding) for part in parts[1:]]
        done = [_decode_run(model, channels, parts[0], options, **decoding)] + [f.result() for f in others]
    return [[s for out, _ in done for s in out[c]] for c in range(len(channels))], done[0][1]


def _decode_run(model, channels: list[np.ndarray], slots: list[list[Piece]], options: TranscribeOptions,
                **decoding: float) -> tuple[list[list], Optional[str]]:
    """Decode ``slots`` in one batched run; each segment's words are mapped back to their channel and time, and
    a segment that runs over pieces of both channels is split between them."""
    import dataclasses

    from faster_whisper import BatchedInferencePipeline

    out: list[list] = [[] for _ in channels]
    if not slots:
        return out, options.language
    # each window in its own 30 s slot of one array; clip_timestamps tell the pipeline where they are
    packed = np.zeros(_WINDOW * len(slots), dtype=np.float32)
    clips = []
    for k, pieces in enumerate(slots):
        audio = np.concatenate([channels[c][a:b] for c, a, b in pieces])[:_WINDOW]
        packed[k * _WINDOW:k * _WINDOW + len(audio)] = audio
        clips.append({"start": k * 30.0, "end": k * 30.0 + len(audio) / SAMPLE_RATE})
    segments, info = BatchedInferencePipeline(model).transcribe(
        packed, clip_timestamps=clips, batch_size=options.batch_size, language=options.language,
        beam_size=options.beam_size, word_timestamps=True, condition_on_previous_text=False, **decoding)
    for seg in segments:  # the generator runs the model
        if not seg.words:
            continue
        # the slot by the segment's middle: word alignment can put a segment's start a little before its slot
        k = min(max(int((seg.start + seg.end) / 2 // 30), 0), len(slots) - 1)
        runs: list[tuple[int, list]] = []
        for w in seg.words:
            # map both ends through the piece that holds the word's middle, as faster-whisper does
            middle = (w.start + w.end) / 2 - k * 30
            c, at = _locate(slots[k], middle)
            word = dataclasses.replace(w, start=at - (middle - (w.start - k * 30)), end=at + (w.end - k * 30 - middle))
            if runs and runs[-1][0] == c:
                runs[-1][1].append(word)
            else:
                runs.append((c, [word]))
        for c, words in runs:
            out[c].append(dataclasses.replace(seg, start=words[0].start, end=words[-1].end, words=words,
                                              text="".join(w.word for w in words)))
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


# A stretch decoded again is often one the decoder looped on; a light repetition penalty gets it out (measured on
# the spoken benchmark calls: manager WER 13.2 % with 1.1, 21.5 % without; 1.1 on the first pass hurts: 15.4 %).
_GAP_REPETITION_PENALTY = 1.1


def _gap_slots(channels: list[np.ndarray], regions: list[list[tuple[int, int]]],
               decoded: list[list], voices: Optional[list] = None) -> list[list[Piece]]:
    """The stretches of speech left without words (padded 0.3 s, cut at 30 s), packed into windows in time order
    as the first pass packs regions: a stretch is a piece of its own, away from the speech it was lost in. One
    slot per stretch spent a whole 30 s encoder pass on a second of speech (65 → 61 passes on the spoken
    benchmark calls, manager WER 11.3 → 11.4 %, one word; the same on twelve other calls)."""
    heard = voices or [None] * len(channels)
    return _pack([[(x, min(x + _WINDOW, hi))
                   for lo, hi in other_voice_gaps(heard[c], _skipped(audio, regions[c], decoded[c]))
                   for x in range(lo, hi, _WINDOW)] for c, audio in enumerate(channels)])


def _skipped(audio: np.ndarray, regions: list[tuple[int, int]], segments: list) -> list[tuple[int, int]]:
    """The sample ranges of one channel's speech left without words (≥ 0.8 s), padded 0.3 s each side."""
    return [(max(0, int((a - 0.3) * SAMPLE_RATE)), min(len(audio), int((b + 0.3) * SAMPLE_RATE)))
            for a, b in _uncovered_speech(regions, segments, min_gap=0.8)]


def _fill_gaps_batched(model, channels: list[np.ndarray], regions: list[list[tuple[int, int]]], decoded: list[list],
                       options: TranscribeOptions, voices: Optional[list] = None) -> list[list]:
    """Decode again, in one batched run, speech the first pass left without words, each stretch a piece of its
    own (it decodes there where the packed window did not: a skipped turn, a loop cut out); not a stretch of a
    channel's other voice (``speech.others``)."""
    found, _ = _decode_slots(model, channels, _gap_slots(channels, regions, decoded, voices), options,
                             repetition_penalty=_GAP_REPETITION_PENALTY)
    return [sorted(decoded[c] + [s for s in found[c] if not _looped(s, options)], key=lambda s: s.start)
            for c in range(len(channels))]


def _fill_gaps(model, audio: np.ndarray, regions: list[tuple[int, int]], segments: list,
               options: TranscribeOptions) -> list:
    """Decode skipped speech again on its own and add it: batched beam search was seen to end a window
    after the first speaker's sentence and drop the other party's whole turn on mono recordings."""
    import dataclasses

    added = []
    for lo, hi in _skipped(audio, regions, segments):
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
    """Whisper segments → our segments (speaker unknown), without the hallucinated ones; and how many went.
    Each word keeps its level (dBFS), which later tells the channel's speaker from background voices."""
    out: list[Segment] = []
    dropped = 0
    for seg in raw:
        if _is_hallucination(seg, audio, options):
            dropped += 1
            continue
        words = [Word(word=w.word.strip(), start=round(w.start, 3), end=round(w.end, 3),
                      probability=round(w.probability, 3), level=round(word_level(audio, w.start, w.end), 1))
                 for w in (seg.words or []) if w.word.strip()]
        words = _cut_loops(words, options.max_repeats)
        if not words:
            dropped += 1
            continue
        out.append(Segment(text=" ".join(w.word for w in words), start=words[0].start, end=words[-1].end,
                           words=words))
    return out, dropped


def _mark_other_voice(segments: list[Segment], voices) -> None:
    """Mark the words another, quieter voice said (``speech.others``): decoded beside the party's speech, they
    become background turns when the transcript is assembled."""
    words = [w for s in segments for w in s.words if w.start is not None and w.end is not None]
    for w, other in zip(words, other_voice_words(voices, [(w.start or 0.0, w.end or 0.0) for w in words])):
        if other:
            w.other_voice = True


def _looped(seg, options: TranscribeOptions) -> bool:
    """A segment the decoder got stuck in (``дентаплюзззз…``, a phrase over and over): too compressible, by
    faster-whisper's own measure. The sequential decoder retries such a segment at a higher temperature; the
    batched one keeps it, and the loop swallows the speech after it."""
    import zlib

    text = seg.text.strip().encode("utf-8")
    return len(text) > 24 and len(text) / len(zlib.compress(text)) > options.compression_ratio_threshold


# What is heard in each channel before anything is decoded: the VAD's speech regions, those worth decoding, and
# the channel's voices (``speech.others``; None for one channel or when off).
Heard = tuple[list[list[tuple[int, int]]], list[list[tuple[int, int]]], list]


def speech_heard(channels: list[np.ndarray], options: TranscribeOptions) -> Heard:
    """Where each channel's speech is, and which of it to decode (no model needed: it can run while the speech
    model loads)."""
    heard = [_speech_regions(audio, options) for audio in channels]
    # one party per channel: a mono recording's quieter party is no background voice, its regions stay whole
    regions = [_decoded_regions(audio, r, options) for audio, r in zip(channels, heard)] if len(channels) > 1 \
        else heard
    # and without the pieces only another, quieter voice is heard in (a colleague inside the level gate)
    voices = [channel_voices(audio, h, r) if options.other_voices else None
              for audio, h, r in zip(channels, heard, regions)] if len(channels) > 1 else [None]
    regions = [other_voice_cuts(audio, v, r) for audio, v, r in zip(channels, voices, regions)]
    return heard, regions, voices


def _recognise(model, channels: list[np.ndarray], options: TranscribeOptions, found: Optional[Heard] = None
               ) -> tuple[list[list[Segment]], Optional[str], int, list[ChannelQuality]]:
    """Channels → each one's segments, the language, how many segments were dropped as hallucinated, and each
    channel's recognition quality (not yet rated: whose channel it is decides that). ``found``: what
    ``speech_heard`` found in these channels, when already known."""
    heard, regions, voices = found or speech_heard(channels, options)
    if options.batched:
        raw, language = _decode_batched(model, channels, regions, options)
    else:
        decoded = [_decode_sequential(model, audio, options) for audio in channels]
        raw, language = [r for r, _ in decoded], decoded[0][1]
    if options.batched and options.fill_gaps:  # a stuck segment's speech is decoded again, on its own
        raw = _fill_gaps_batched(model, channels, regions, [[s for s in r if not _looped(s, options)] for r in raw],
                                 options, voices)
    elif options.fill_gaps:
        raw = [_fill_gaps(model, audio, regions[c], raw[c], options) for c, audio in enumerate(channels)]
    result, dropped, quality = [], 0, []
    for c, audio in enumerate(channels):
        cleaned, n = _clean(raw[c], audio, options)
        _mark_other_voice(cleaned, voices[c])
        result.append(cleaned)
        quality.append(measure_channel(audio, heard[c], raw[c], cleaned))
        dropped += n
    return result, language, dropped, quality
