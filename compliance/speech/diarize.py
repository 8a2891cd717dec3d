"""Who spoke when in a one-channel call: voice features, two parties clustered, each recognised word labelled.

With the speaker-embedding encoder installed (``voice_encoder``: Resemblyzer's GE2E weights run in numpy), the
pieces' d-vectors are split by spectral clustering and each word is labelled by its piece's d-vector evidence and the
parties' MFCC Gaussians (``_split_by_vectors``; chosen by measurement, README "Speaker embeddings in the
product"). Without it, the MFCC path below, which needs no model: MFCCs of the telephone band, one mean/spread
vector per second or so of speech,
two-way k-means on those vectors, then each word re-labelled by two Gaussians fitted on the clusters' frames and a
Viterbi pass over the words (a party rarely changes in the middle of a phrase). Chosen by measurement against the
Whisper encoder's states and silero's speech regions (``benchmarks/diarize_bench.py``): on 8 kHz μ-law and 32 kbps
mp3 it separated the parties as well or better at a fraction of the cost.

The units are the transcript's words, so each word, and so each line, gets one speaker; ``separation`` says how
far apart the two voices are, and below ``DiarizeOptions.min_separation`` the call is flagged rather than trusted,
unless the parties' pieces stand apart one after another over enough of the call (``DiarizeOptions.trust_weight``).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
from pydantic import BaseModel, Field

from compliance.speech.decode import SAMPLE_RATE
from compliance.speech.replies import short_replies
from compliance.speech.voice_encoder import VoiceEncoder, load_encoder
from compliance.speech.voices import centroid_scores, contrast, kmeans2, spectral_split

_HOP = 160          # 10 ms frames
_WIN = 400          # 25 ms windows
_NFFT = 512
_MELS = 32
_CEPS = 16          # c1..c16: c0 (loudness) says more about the line than the voice
_BAND = (100.0, 3800.0)  # what survives an 8 kHz telephone line
_SEEDS = 6          # k-means starts: along each of the first six principal axes
_CONTRAST_PIECES = 3  # pieces a party needs before their contrast is read
_TURN_SEARCH = 16   # pieces of speech (~1.5 s each) up to which a call's turns are also searched for directly
# The switch penalty of the search: each candidate split is re-labelled at it and judged by its separation, so the
# voice count and the flag are read as they were measured (``DiarizeOptions``); the words' final parties are then
# smoothed at ``DiarizeOptions.switch_penalty``. Read at 30 too, a close pair of two women's voices on 32 kbps mp3
# (held-out RHVoice calls) fell below ``one_voice`` and lost a party.
_SEARCH_PENALTY = 6.0
_MIN_SOLID = 6      # pieces the d-vectors' clustering needs at least (a short call: its longest pieces)


class DiarizeOptions(BaseModel):
    """How a mono call is split into its parties."""

    chunk: float = Field(default=1.5, gt=0.2)          # seconds of speech per voice vector
    # The log-likelihood a change of party must earn inside a phrase (less after a pause), in the final labels of
    # the words (the split itself is searched and judged at ``_SEARCH_PENALTY``). At 6 a lone word inside a turn
    # went over to the other party now and then (two close women's voices, DER 13.6 %); at 30 a change needs a
    # pause or several words. Over recognised words (``benchmarks/mono_replay.py``), development data: 6, 12, 20,
    # 30 and 45 were tried; 45 gained little more.
    switch_penalty: float = Field(default=30.0, ge=0)
    # The split's separation (``_separation``, penalised) on the mono set of benchmarks/make_mono_audio.py
    # (``benchmarks/diarize_bench.py``): over silero's speech pieces, two voices 0.37–0.84, one voice (either party's
    # channel alone, 8 kHz μ-law and 32 kbps mp3) 0.09–0.37 but for one of 64 at 0.45; over recognised words two
    # voices 0.34–0.88, one voice 0.08–0.30. Below ``one_voice`` it is one voice; between that and
    # ``min_separation`` two parties, flagged for a lead to check (the closest voice pairs sit there). A lost party
    # costs a whole call, a needless flag only a look, so ``one_voice`` sits at the bottom of the two-voice range.
    # Chosen on those calls: they are development data for these two numbers.
    one_voice: float = Field(default=0.32, ge=0)
    min_separation: float = Field(default=0.55, ge=0)
    # Between the two, the parties' contrast (``_contrast``) decides: over silero's pieces one voice split in two
    # 0.28–0.87 in the flag band (16 of the 64 one-voice channels), two voices 1.09–3.90; over recognised words two
    # voices 0.87–3.51 (32 calls: the lowest a 32 kbps mp3 of a festival voice and its +220-cent, 0.92-tempo copy,
    # whose true split has 0.97), one voice in the flag band 0.88 and 1.06 (2 of 32 channels). The ranges touch, so
    # the line sits well below the lowest two-voice contrast (0.87 / 0.6 = 1.45): a lost party costs a whole call, a
    # needless flag only a look. 10 of those 16 channels are then one voice, the rest stay flagged. Chosen on those
    # calls (development data for this number; 0.95 lost the party of that mp3 call).
    one_voice_contrast: float = Field(default=0.6, ge=0)
    # Below ``min_separation`` the split is trusted all the same when the contrast, weighed by the pieces it rests on
    # (``_weight``), reaches ``trust_weight`` with each party speaking ``trust_pieces`` pieces (~15 s) at least.
    # Measured over recognised words (``benchmarks/mono_replay.py``; festival's set and the development part of the
    # RHVoice set, whole calls and their first 20 and 40 s, 8 kHz μ-law and 32 kbps mp3): one voice split in two
    # with a separation in the flag band weighs 2.1–14.1 (11.5 at most with 10 pieces a party), two voices 3.3–17.0
    # on the first 20–40 s and 19.4–27.6 on whole calls, whose true split is sound (DER ≤ 8.3 %). The line sits
    # between (18) and the pieces guard keeps the few-piece contrasts out; chosen on those calls (development data).
    trust_weight: float = Field(default=18.0, ge=0)
    trust_pieces: int = Field(default=10, ge=_CONTRAST_PIECES)
    min_party_share: float = Field(default=0.04, ge=0)  # a "party" with less of the speech is one voice, not two
    # One voice heard in less speech than this (seconds of words) is not trusted: too little to tell two voices
    # apart. Cut to their first 6–45 s, the two-voice calls of the heldout8 mono set were read as one voice in 36
    # of 57 cuts under 16 s of speech; heldout9's short calls, where one side says 5–17 words, in 7 of 16, with 18–32
    # s of speech (both sets development data since). Their whole conversations have 60–120 s.
    thin_speech: float = Field(default=40.0, ge=0)
    # Speaker embeddings (``voice_encoder``) split the parties when the encoder's package is installed; off, or
    # without it, the MFCC statistics above do.
    voice_vectors: bool = True
    vector_piece: float = Field(default=1.0, ge=0)   # pieces shorter than this (s) are labelled, not clustered
    vector_weight: float = Field(default=100.0, ge=0)  # a piece's d-vector evidence against a word's MFCC evidence
    vector_one_voice: float = Field(default=0.15)     # the split's separation below which it is one voice
    vector_trust: float = Field(default=8.0, ge=0)    # the d-vector contrast, weighed by pieces, to trust the split
    # A client who only answers («да», «угу», «хорошо») speaks in pieces too short to cluster, so the split above
    # hears one voice. When it does, the short pieces that sound least like the main voice are heard together, as
    # one stretch (``replies.short_replies``): its d-vector's cosine to the main voice's is the test. Over the mono calls of
    # heldout8–heldout12 (development data for these numbers), with ``reply_seconds`` of such pieces or more: one
    # voice (each stereo channel alone) 0.758 at the lowest, a client's replies 0.58–0.83. Below ``reply_voice``
    # the replies are the other party, flagged for a lead; below ``reply_trust`` the split is trusted.
    reply_voice: float = Field(default=0.70)
    reply_trust: float = Field(default=0.65)
    reply_seconds: float = Field(default=1.5, ge=0)
    reply_pieces: int = Field(default=4, ge=1)


class Diarization(BaseModel):
    """Each unit's party (0 or 1, -1: no voice heard) and how sure the split is."""

    labels: list[int]
    separation: float = 0.0       # distance of the parties' voice vectors over their spread (≈0: one voice)
    contrast: Optional[float] = None  # the parties' pieces apart over their spread (``_contrast``; None: too few)
    pieces: list[int] = Field(default_factory=list)  # each party's pieces of speech that the contrast rests on
    voices: int = 2               # 0: no speech, 1: one voice only, 2: two parties
    confident: bool = True
    prints: list[list[float]] = Field(default_factory=list)  # each party's MFCC voice print (32 numbers)
    voice_prints: list[list[float]] = Field(default_factory=list)  # each party's d-vector print (256; "ge2e" only)
    seconds: float = 0.0          # how long diarization took (the benchmark's time share)
    method: str = "mfcc"          # what told the voices apart: "ge2e" (speaker embeddings) or "mfcc" (statistics)
    version: int = 0              # the rules that made it (``DIARIZE_VERSION``; a cached split of older rules is redone)


# 1: one voice heard in less than ``thin_speech`` is not trusted; 2: a client's short replies heard (``replies``)
DIARIZE_VERSION = 2


def diarization_method(options: Optional[DiarizeOptions] = None) -> str:
    """What ``diarize`` tells the voices apart with here: "ge2e" when the encoder's package is installed, else
    "mfcc" (a cached split of the other kind is made again)."""
    return "ge2e" if (options or DiarizeOptions()).voice_vectors and load_encoder() is not None else "mfcc"


def _mel_bank() -> np.ndarray:
    def mel(f: np.ndarray | float) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    edges_mel = np.linspace(mel(_BAND[0]), mel(_BAND[1]), _MELS + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(_NFFT, 1.0 / SAMPLE_RATE)
    bank = np.zeros((_MELS, bins.size), dtype=np.float32)
    for i in range(_MELS):
        lo, mid, hi = edges[i], edges[i + 1], edges[i + 2]
        bank[i] = np.clip(np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)), 0, None)
    return bank


def _dct() -> np.ndarray:
    n = np.arange(_MELS)
    k = np.arange(1, _CEPS + 1)[:, None]
    return (np.cos(np.pi * k * (2 * n + 1) / (2 * _MELS)) * np.sqrt(2.0 / _MELS)).astype(np.float32)


def mfcc(audio: np.ndarray, block: int = 8192) -> np.ndarray:
    """16 kHz samples → MFCC frames (one per 10 ms, ``_CEPS`` coefficients, telephone band)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.size < _WIN:
        return np.zeros((0, _CEPS), dtype=np.float32)
    emphasised = np.append(audio[0], audio[1:] - 0.97 * audio[:-1]).astype(np.float32)
    n = 1 + (emphasised.size - _WIN) // _HOP
    frames = np.lib.stride_tricks.sliding_window_view(emphasised, _WIN)[::_HOP][:n]
    window, bank, dct = np.hamming(_WIN).astype(np.float32), _mel_bank(), _dct()
    out = np.empty((n, _CEPS), dtype=np.float32)
    for i in range(0, n, block):  # blocks keep an hour's spectrum out of memory
        power = np.abs(np.fft.rfft(frames[i:i + block] * window, _NFFT)) ** 2
        out[i:i + block] = np.log(power.astype(np.float32) @ bank.T + 1e-8) @ dct.T
    return out


def _frame_range(start: float, end: float, total: int) -> tuple[int, int]:
    a = min(max(int(start * 100), 0), total)
    return a, min(max(int(np.ceil(end * 100)), a + 1), total)


def _chunks(units: Sequence[tuple[float, float]], size: float) -> list[list[int]]:
    """Consecutive units grouped into pieces of about ``size`` seconds; a pause over 0.3 s ends a piece."""
    groups: list[list[int]] = []
    begin = 0.0
    for i, (a, b) in enumerate(units):
        if groups and a - units[groups[-1][-1]][1] <= 0.3 and b - begin <= size:
            groups[-1].append(i)
        else:
            groups.append([i])
            begin = a
    return groups


def _vectors(feats: np.ndarray, spans: list[tuple[int, int]]) -> np.ndarray:
    return np.array([np.concatenate([feats[a:b].mean(axis=0), feats[a:b].std(axis=0)]) for a, b in spans])


def _separation(feats: np.ndarray, spans: list[tuple[int, int]], labels: list[int]) -> float:
    """How much better two Gaussians explain the frames than one, per frame, less what the second Gaussian's
    parameters buy by themselves (the BIC criterion of speaker-change detection): near 0 or below for one voice
    split in two, well above for two voices. Without the penalty a short one-voice call split in two scored as
    high as a long call of two close voices."""
    parts = [np.concatenate([feats[a:b] for (a, b), k in zip(spans, labels) if k == party] or
                            [np.zeros((0, feats.shape[1]))]) for party in (0, 1)]
    if min(len(p) for p in parts) < feats.shape[1] * 4:
        return 0.0
    every = np.concatenate(parts)

    def logdet(x: np.ndarray) -> float:
        return float(np.linalg.slogdet(np.cov(x, rowvar=False) + np.eye(x.shape[1]) * 1e-3)[1])

    dim = feats.shape[1]
    penalty = (dim + dim * (dim + 1) / 2) * np.log(len(every)) / (2 * len(every))
    return 0.5 * (logdet(every) - sum(len(p) * logdet(p) for p in parts) / len(every)) - float(penalty)


class _Gaussian:
    def __init__(self, frames: np.ndarray) -> None:
        self.mean = frames.mean(axis=0)
        cov = np.cov(frames, rowvar=False) + np.eye(frames.shape[1]) * 1e-3
        self.inv = np.linalg.inv(cov)
        self.logdet = float(np.linalg.slogdet(cov)[1])

    def loglik(self, frames: np.ndarray) -> np.ndarray:
        d = frames - self.mean
        return -0.5 * (np.einsum("ij,jk,ik->i", d, self.inv, d) + self.logdet)


def _viterbi(scores: np.ndarray, gaps: np.ndarray, penalty: float) -> np.ndarray:
    """Two states over the units: ``scores`` is each unit's log-likelihood ratio (party 0 over 1); a change costs
    ``penalty``, less after a pause (a turn usually ends at one)."""
    cost = penalty / (1.0 + 4.0 * np.clip(gaps, 0, None))
    best = np.array([scores[0] / 2, -scores[0] / 2]) if len(scores) else np.zeros(2)
    back = np.zeros((len(scores), 2), dtype=int)
    for i in range(1, len(scores)):
        emit = np.array([scores[i] / 2, -scores[i] / 2])
        stay, switch = best, best[::-1] - cost[i]
        back[i] = np.where(stay >= switch, [0, 1], [1, 0])
        best = np.maximum(stay, switch) + emit
    path = np.zeros(len(scores), dtype=int)
    if len(scores):
        path[-1] = int(np.argmax(best))
        for i in range(len(scores) - 1, 0, -1):
            path[i - 1] = back[i, path[i]]
    return path


def diarize(audio: np.ndarray, units: Sequence[tuple[float, float]],
            options: Optional[DiarizeOptions] = None) -> Diarization:
    """Label each unit (a word's or a speech piece's start and end, seconds, in time order) with its party.

    Args:
        audio: the call, 16 kHz mono float32.
        units: spans of speech in time order (the transcript's words).
        options: chunk size, switch penalty, the separation needed to trust the split.

    Returns:
        ``Diarization``: one label per unit; ``voices`` 0 (no speech), 1 (one voice) or 2.
    """
    result = _diarize(audio, units, options or DiarizeOptions())
    result.version = DIARIZE_VERSION
    return result


def _diarize(audio: np.ndarray, units: Sequence[tuple[float, float]], options: DiarizeOptions) -> Diarization:
    feats = mfcc(audio)
    spans = [_frame_range(a, b, len(feats)) for a, b in units]
    voiced = [i for i, (a, b) in enumerate(spans) if b > a]
    labels = [-1] * len(units)
    if len(voiced) < 2:
        return Diarization(labels=[0 if i in voiced else -1 for i in range(len(units))], voices=len(voiced),
                           confident=len(voiced) == 0)
    raw = feats
    speech = np.concatenate([feats[a:b] for a, b in (spans[i] for i in voiced)])
    feats = (feats - speech.mean(axis=0)) / (speech.std(axis=0) + 1e-6)  # per-call normalisation
    groups = [[voiced[j] for j in g] for g in _chunks([units[i] for i in voiced], options.chunk)]
    encoder = load_encoder() if options.voice_vectors else None
    if encoder is not None and len(groups) >= 2:
        return _split_by_vectors(encoder, audio, units, groups, feats, spans, voiced, options, raw)
    pieces = [(spans[g[0]][0], spans[g[-1]][1]) for g in groups]
    x = _vectors(feats, pieces)
    weight = np.array([b - a for a, b in pieces], dtype=float)
    x = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)
    best: tuple[float, list[int]] = (-1.0, labels)
    # k-means seeded along each of the first principal axes; the split the parties' Gaussians explain best wins
    # (the main axis alone was seen to split one voice's phrases rather than the two voices on a 32 kbps mp3)
    starts = [kmeans2(x, weight, axis_index=axis) for axis in range(_SEEDS)] if len(x) >= 2 else []
    starts += _turn_splits(feats, pieces)
    for chunk_labels in starts or [np.zeros(len(x), dtype=int)]:
        word_labels = np.zeros(len(units), dtype=int)
        for g, k in zip(groups, chunk_labels):
            word_labels[g] = k
        word_labels = _resegment(feats, spans, voiced, word_labels, units, _SEARCH_PENALTY)
        tried = list(labels)
        for i in voiced:
            tried[i] = int(word_labels[i])
        separation = _separation(feats, spans, tried)
        if separation > best[0]:
            best = (separation, tried)
    means = _piece_means(feats, spans, groups, best[1])
    result = _verdict(best[1], units, best[0], raw, spans, options, _fisher(means), [len(m) for m in means])
    if result.voices == 2 and options.switch_penalty != _SEARCH_PENALTY:  # the words' parties, smoothed
        smoothed = _resegment(feats, spans, voiced, np.array(best[1]), units, options.switch_penalty)
        result.labels = [int(smoothed[i]) if k >= 0 else -1 for i, k in enumerate(best[1])]
    return result


def _turn_splits(feats: np.ndarray, pieces: list[tuple[int, int]]) -> list[np.ndarray]:
    """A short call's best split into turns: one or two changes of party between its pieces (A|B, A|B|A), the one
    two Gaussians explain best. k-means over a handful of 32-number vectors follows the words said more than the
    voice: on a 6 s two-voice phrase in 22 kHz AAC (five pieces) no start found the turn, this search does."""
    n = len(pieces)
    if n < 2 or n > _TURN_SEARCH:
        return []
    best: tuple[float, Optional[np.ndarray]] = (-np.inf, None)
    for a in range(1, n):
        for b in range(a + 1, n + 1):
            split = np.zeros(n, dtype=int)
            split[a:b] = 1
            separation = _separation(feats, pieces, list(split))
            if separation > best[0]:
                best = (separation, split)
    return [best[1]] if best[1] is not None else []


def _resegment(feats: np.ndarray, spans: list[tuple[int, int]], voiced: list[int], labels: np.ndarray,
               units: Sequence[tuple[float, float]], penalty: float, rounds: int = 2,
               prior: Optional[np.ndarray] = None) -> np.ndarray:
    """Each word by the two parties' frame Gaussians, smoothed over the words (a Viterbi pass)."""
    gaps = np.array([0.0] + [units[voiced[i]][0] - units[voiced[i - 1]][1] for i in range(1, len(voiced))])
    for _ in range(rounds):
        frames = [np.concatenate([feats[spans[i][0]:spans[i][1]] for i in voiced if labels[i] == k] or
                                 [np.zeros((0, feats.shape[1]))]) for k in (0, 1)]
        if min(len(f) for f in frames) < feats.shape[1] * 4:
            return labels  # one party has too little speech to model: keep the clusters
        models = [_Gaussian(f) for f in frames]
        scores = np.array([float(np.sum(models[0].loglik(feats[a:b]) - models[1].loglik(feats[a:b])))
                           for a, b in (spans[i] for i in voiced)])
        scores = np.clip(scores, -40, 40)
        if prior is not None:
            scores = scores + prior[voiced]
        labels = labels.copy()
        labels[voiced] = _viterbi(scores, gaps, penalty)
    return labels


def _piece_means(feats: np.ndarray, spans: list[tuple[int, int]], groups: list[list[int]],
                 labels: list[int]) -> list[list[np.ndarray]]:
    """Each party's pieces of speech (0.3 s or more) as their mean MFCC vectors."""
    vectors: list[list[np.ndarray]] = [[], []]
    for g in groups:
        a, b = spans[g[0]][0], spans[g[-1]][1]
        party = [labels[i] for i in g if labels[i] >= 0]
        if b - a >= 30 and party:
            vectors[int(round(float(np.mean(party))))].append(feats[a:b].mean(axis=0))
    return vectors


def _fisher(vectors: list[list[np.ndarray]]) -> float:
    if min(len(v) for v in vectors) < _CONTRAST_PIECES:
        return float("inf")
    parts = [np.array(v) for v in vectors]
    means = [p.mean(axis=0) for p in parts]
    spread = np.concatenate([p - m for p, m in zip(parts, means)])
    return float(((means[0] - means[1]) ** 2).sum() / max(float((spread ** 2).sum(axis=1).mean()), 1e-9))


def _contrast(feats: np.ndarray, spans: list[tuple[int, int]], groups: list[list[int]], labels: list[int]) -> float:
    """How far apart the parties' pieces lie, piece by piece: the squared distance of the two parties' mean piece
    vectors (mean MFCC over ~1.5 s) over the mean squared spread of a piece around its party's mean (a Fisher
    ratio). A voice stays put from piece to piece while the words change, so two voices stand apart here and one
    voice split in two does not (``inf``: too few pieces a party to tell)."""
    return _fisher(_piece_means(feats, spans, groups, labels))


def _weight(contrast: float, pieces: Sequence[int]) -> float:
    """The contrast weighed by how many pieces it rests on: ``contrast · n₀n₁/(n₀+n₁)`` (Hotelling's two-sample
    statistic over the piece vectors). One voice split in two reaches a high contrast only on a few pieces (the
    best of many splits of little speech: 3.47 on a client's 5 pieces against 22), where this stays low; two
    voices keep their contrast however long they speak, so it grows with the call."""
    if not np.isfinite(contrast) or len(pieces) != 2 or min(pieces) == 0:
        return 0.0
    return contrast * pieces[0] * pieces[1] / (pieces[0] + pieces[1])


def _verdict(labels: list[int], units: Sequence[tuple[float, float]], separation: float, feats: np.ndarray,
             spans: list[tuple[int, int]], options: DiarizeOptions, contrast: float = float("inf"),
             pieces: Sequence[int] = ()) -> Diarization:
    """Two parties, or one voice (the smaller party too small, the two too alike, or alike but for the words
    said: a separation short of ``min_separation`` with the parties' pieces no farther apart than ``contrast``
    allows), and whether the split can be trusted: a separation of ``min_separation`` or more, or below it the
    parties' contrast weighed by their pieces (``_weight``) at ``trust_weight`` or more, each party speaking
    ``trust_pieces`` pieces at least."""
    seconds = [sum(b - a for (a, b), k in zip(units, labels) if k == party) for party in (0, 1)]
    total = sum(seconds) or 1.0
    prints = [_print(feats, [s for s, k in zip(spans, labels) if k == party]) for party in (0, 1)]
    alike = separation < options.min_separation and contrast < options.one_voice_contrast
    kept = round(contrast, 3) if np.isfinite(contrast) else None  # of the best split, even when it is not kept
    if min(seconds) / total < options.min_party_share or separation < options.one_voice or alike:
        major = int(seconds[1] > seconds[0])
        return Diarization(labels=[major if k >= 0 else -1 for k in labels], separation=round(separation, 3),
                           contrast=kept, pieces=list(pieces), voices=1, confident=total >= options.thin_speech,
                           prints=[_print(feats, [s for s, k in zip(spans, labels) if k >= 0])])
    steady = (_weight(contrast, pieces) >= options.trust_weight and len(pieces) == 2
              and min(pieces) >= options.trust_pieces)
    return Diarization(labels=labels, separation=round(separation, 3), voices=2, contrast=kept, pieces=list(pieces),
                       confident=separation >= options.min_separation or steady, prints=prints)


def _print(feats: np.ndarray, spans: list[tuple[int, int]]) -> list[float]:
    """A party's voice print: the mean and spread of its MFCC frames (not normalised per call, so prints of
    different calls compare)."""
    if not spans:
        return []
    frames = np.concatenate([feats[a:b] for a, b in spans])
    return [round(float(v), 4) for v in np.concatenate([frames.mean(axis=0), frames.std(axis=0)])]


def _split_by_vectors(encoder: VoiceEncoder, audio: np.ndarray, units: Sequence[tuple[float, float]],
                      groups: list[list[int]], feats: np.ndarray, spans: list[tuple[int, int]], voiced: list[int],
                      options: DiarizeOptions, raw_feats: np.ndarray) -> Diarization:
    """The parties by the pieces' d-vectors: spectral clustering of the pieces of ``vector_piece`` or more, each
    word then labelled by its piece's d-vector evidence and its own frames' MFCC Gaussians (Viterbi)."""
    times = [(units[g[0]][0], max(units[g[-1]][1], units[g[0]][0] + 0.05)) for g in groups]
    vectors = encoder.embed([audio[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in times])
    lengths = np.array([b - a for a, b in times])
    solid = lengths >= options.vector_piece
    if solid.sum() < _MIN_SOLID:  # a short call: its longest pieces
        solid = lengths >= np.sort(lengths)[-min(_MIN_SOLID, len(lengths))]
    piece_labels = np.full(len(groups), -1)
    piece_labels[solid] = spectral_split(vectors[solid])
    evidence = centroid_scores(vectors, piece_labels)
    word_labels = np.zeros(len(units), dtype=int)
    prior = np.zeros(len(units))
    for g, score in zip(groups, evidence):
        word_labels[g] = int(score < 0)
        prior[g] = score * options.vector_weight / len(g)
    # The voice count is read on the d-vectors' own split (each word its piece's party): one voice split in two
    # there has an MFCC separation of 0.06 at most, two voices 0.22 or more; the MFCC re-labelling below raises a
    # one-voice split's separation to 0.23 (it maximises it), so it is read before.
    heard = set(voiced)
    first = _separation(feats, spans, [int(word_labels[i]) if i in heard else -1 for i in range(len(units))])
    word_labels = _resegment(feats, spans, voiced, word_labels, units, options.switch_penalty, prior=prior)
    labels = [-1] * len(units)
    for i in voiced:
        labels[i] = int(word_labels[i])
    final = np.array([int(round(float(np.mean([labels[i] for i in g])))) for g in groups])
    separation = _separation(feats, spans, labels)
    apart = contrast(vectors[solid], final[solid])
    pieces = [int(np.sum(final[solid] == k)) for k in (0, 1)]
    seconds = [sum(b - a for (a, b), k in zip(units, labels) if k == party) for party in (0, 1)]
    weight = apart * pieces[0] * pieces[1] / max(sum(pieces), 1)
    out = Diarization(labels=labels, contrast=round(apart, 3), pieces=pieces, method="ge2e",
                      separation=round(separation, 3))
    # a "party" of one long piece, in the d-vectors' split or after the re-labelling: one voice's outlier
    lone = min(min(int(np.sum(piece_labels == k)) for k in (0, 1)), min(pieces)) < 2
    if lone or min(seconds) / (sum(seconds) or 1.0) < options.min_party_share or first < options.vector_one_voice:
        replies = short_replies(encoder, audio, times, vectors, solid, pieces=options.reply_pieces,
                                seconds=options.reply_seconds, voice=options.reply_voice)
        if replies is not None:
            return _with_replies(out.model_copy(update={"separation": round(first, 3), "contrast": None}),
                                 replies, groups, units, vectors, spans, raw_feats, options)
        major = int(seconds[1] > seconds[0])
        return out.model_copy(update={
            "labels": [major if k >= 0 else -1 for k in labels], "voices": 1, "separation": round(first, 3),
            "confident": sum(seconds) >= options.thin_speech,
            "prints": [_print(raw_feats, [spans[i] for i in voiced])],
            "voice_prints": [_vector_print(vectors, np.zeros(len(groups), dtype=int), 0)]})
    out.confident = separation >= options.min_separation or weight >= options.vector_trust
    out.prints = [_print(raw_feats, [s for s, k in zip(spans, labels) if k == party]) for party in (0, 1)]
    out.voice_prints = [_vector_print(vectors, final, k) for k in (0, 1)]
    return out


def _vector_print(vectors: np.ndarray, labels: np.ndarray, party: int) -> list[float]:
    """A party's voice print: the mean of its pieces' d-vectors, unit length (not centred, so calls compare)."""
    if not np.any(labels == party):
        return []
    mean = vectors[labels == party].mean(axis=0)
    return [round(float(v), 5) for v in mean / (np.linalg.norm(mean) + 1e-9)]


def _with_replies(out: Diarization, replies: tuple[np.ndarray, float], groups: list[list[int]],
                  units: Sequence[tuple[float, float]], vectors: np.ndarray, spans: list[tuple[int, int]],
                  raw_feats: np.ndarray, options: DiarizeOptions) -> Diarization:
    """Two parties: the main voice (0) and the replies' (1), each word its piece's party."""
    picked, cosine = replies
    labels = [-1] * len(units)
    for g, k in zip(groups, picked):
        for i in g:
            labels[i] = int(k)
    final = picked.astype(int)
    return out.model_copy(update={
        "labels": labels, "voices": 2, "confident": cosine < options.reply_trust,
        "pieces": [int(np.sum(final == k)) for k in (0, 1)],
        "prints": [_print(raw_feats, [s for s, k in zip(spans, labels) if k == party]) for party in (0, 1)],
        "voice_prints": [_vector_print(vectors, final, k) for k in (0, 1)]})
