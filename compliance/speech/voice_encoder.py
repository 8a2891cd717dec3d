"""Speaker embeddings (d-vectors) without PyTorch: Resemblyzer's GE2E voice encoder, its weights read from the
installed ``resemblyzer`` package and its network run in numpy.

Resemblyzer (Apache-2.0, on PyPI) ships its weights inside its wheel as ``resemblyzer/pretrained.pt``. It is
installed with ``pip install --no-deps resemblyzer==0.1.4``: its declared dependencies pull PyTorch, librosa and
webrtcvad, none of which is needed here. ``pretrained.pt`` is PyTorch's legacy (pre-1.6) serialisation: four pickles
(magic number, protocol, system info, the state dict whose tensors name their storages by persistent ids), then
each storage's raw bytes after its element count. It is read once with a plain ``pickle.Unpickler`` that builds
nothing but numpy arrays, and kept as an ``.npz`` in the user cache.

The network: 40 mel bands (Slaney, as librosa's defaults) of 25 ms windows every 10 ms, three LSTM layers of 256
(torch's gate order i, f, g, o), linear 256, ReLU, L2 norm; a piece of speech is cut into 1.6 s partials and their
embeddings averaged (Resemblyzer's ``embed_utterance``). Without the package ``load_encoder`` returns None and the
diarizer keeps its MFCC statistics.
"""
from __future__ import annotations

import ctypes
import importlib.util
import io
import os
import pickle
import struct
import threading
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional, Sequence

import numpy as np

from compliance.resources import cache_root

from .decode import SAMPLE_RATE

_MAGIC = 0x1950A86A20F9469CFC6C
_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}
_PARTIAL = 160      # frames (1.6 s) a partial embedding sees
_BATCH = 64         # partials through the LSTM at once
EMBEDDING_SIZE = 256


class _Storage:
    def __init__(self, dtype: type) -> None:
        self.dtype = dtype
        self.data: np.ndarray = np.zeros(0, dtype)


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray:
        item = np.dtype(self.storage.dtype).itemsize
        return np.lib.stride_tricks.as_strided(self.storage.data[self.offset:], self.size,
                                               [s * item for s in self.stride]).copy()


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple, stride: tuple, *_rest: object) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    """Builds only what a state dict of tensors needs; any other global is refused (no code runs from the file)."""

    def __init__(self, f: io.BytesIO, storages: dict) -> None:
        super().__init__(f)
        self.storages = storages

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):  # type: ignore[no-untyped-def]
        kind, dtype, key = pid[0], pid[1], pid[2]
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind}")
        return self.storages.setdefault(key, _Storage(dtype))


def read_torch_state(raw: bytes) -> dict[str, np.ndarray]:
    """A legacy ``torch.save`` file's bytes → its flat state dict of numpy arrays (``model_state`` when nested)."""
    f = io.BytesIO(raw)
    if pickle.load(f) != _MAGIC:
        raise ValueError("not a legacy PyTorch file")
    pickle.load(f), pickle.load(f)  # protocol version, system info
    storages: dict = {}
    state = _Unpickler(f, storages).load()
    for key in pickle.load(f):
        storage = storages[key]
        (count,) = struct.unpack("<q", f.read(8))
        storage.data = np.frombuffer(f.read(count * np.dtype(storage.dtype).itemsize), dtype=storage.dtype)
    state = state.get("model_state", state)
    return {k: v.array() for k, v in state.items() if isinstance(v, _Tensor)}


def weights_file() -> Optional[Path]:
    """The installed ``resemblyzer`` package's ``pretrained.pt``, found without importing the package (its
    ``__init__`` imports torch); None when it is not installed."""
    try:
        spec = importlib.util.find_spec("resemblyzer")
    except (ImportError, ValueError):
        return None
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "pretrained.pt"
        if path.is_file():
            return path
    return None


def _load_weights(path: Path) -> dict[str, np.ndarray]:
    """The weights as arrays, converted once into the user cache (a read-only cache only costs the conversion)."""
    stat = path.stat()
    cached = cache_root() / "voice-encoder" / f"ge2e-{stat.st_size}-{int(stat.st_mtime)}.npz"
    try:
        with np.load(cached) as saved:
            return {k: saved[k] for k in saved.files}
    except (OSError, ValueError):
        pass
    state = read_torch_state(path.read_bytes())
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".part.npz")
        np.savez(partial, **state)  # type: ignore[arg-type]
        partial.replace(cached)
    except OSError:
        pass
    return state


def _mel_bank(n_fft: int = 400, n_mels: int = 40, sr: int = SAMPLE_RATE) -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40) with its defaults (Slaney scale and area norm)."""
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0

    def hz_to_mel(f: np.ndarray) -> np.ndarray:
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m: np.ndarray) -> np.ndarray:
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    mel_f = mel_to_hz(np.linspace(hz_to_mel(np.array(0.0)), hz_to_mel(np.array(sr / 2)), n_mels + 2))
    fft_f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fdiff, ramps = np.diff(mel_f), mel_f[:, None] - fft_f[None, :]
    w = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    return (w * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]).astype(np.float32)


_BANK = _mel_bank()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)).astype(np.float32)  # periodic, as librosa's


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """Power mel frames as Resemblyzer computes them (centred 25 ms windows every 10 ms, zero padding)."""
    padded = np.pad(np.asarray(wav, dtype=np.float32), 200)
    n = 1 + (padded.size - 400) // 160
    frames = np.lib.stride_tricks.sliding_window_view(padded, 400)[::160][:n]
    return (np.abs(np.fft.rfft(frames * _HANN, 400)) ** 2).astype(np.float32) @ _BANK.T


def _louder(wav: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Resemblyzer's ``normalize_volume(increase_only=True)``: a quiet piece raised to -30 dBFS."""
    rms = float(np.sqrt(np.mean((wav * 32767.0) ** 2))) + 1e-9
    change = target_dbfs - 20 * np.log10(rms / 32767.0)
    return wav if change < 0 else wav * np.float32(10 ** (change / 20))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


_PINNED = {"depth": 0, "before": 0}
_PIN_LOCK = threading.Lock()


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """The LSTM's products are small (64 × 256 by 256 × 1024 a step): OpenBLAS's threads spin on the shared cores
    for little gain (3–6 CPU s a minute of speech against 0.2 s on one thread, measured), so one thread here.
    OpenBLAS's setting is process-wide: recordings diarized on several threads at once share one pin, and the last
    to leave restores the setting found by the first."""
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-not-found]
    except ImportError:
        setter = _openblas_setter()
        if setter is None:
            yield
            return
        with _PIN_LOCK:
            if _PINNED["depth"] == 0:
                _PINNED["before"] = setter[1]()
                setter[0](1)
            _PINNED["depth"] += 1
        try:
            yield
        finally:
            with _PIN_LOCK:
                _PINNED["depth"] -= 1
                if _PINNED["depth"] == 0:
                    setter[0](_PINNED["before"])
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@lru_cache(maxsize=1)
def _openblas_setter() -> Optional[tuple]:
    """numpy's own OpenBLAS thread setter and getter (as threadpoolctl finds them), when its wheel bundles one."""
    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for lib in sorted(libs.glob("lib*openblas*.so*")) if libs.is_dir() else []:
        try:
            handle = ctypes.CDLL(str(lib), mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_LOCAL)
        except OSError:
            continue
        for prefix in ("scipy_", ""):
            for suffix in ("64_", ""):
                setter = getattr(handle, f"{prefix}openblas_set_num_threads{suffix}", None)
                getter = getattr(handle, f"{prefix}openblas_get_num_threads{suffix}", None)
                if setter is not None and getter is not None:
                    return setter, getter
    return None


class VoiceEncoder:
    """GE2E d-vectors of pieces of speech (``embed``)."""

    name = "ge2e"

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.layers = [(state[f"lstm.weight_ih_l{k}"].T.copy(), state[f"lstm.weight_hh_l{k}"].T.copy(),
                        state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"]) for k in range(3)]
        self.linear = (state["linear.weight"].T.copy(), state["linear.bias"])

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """[batch, frames, 40] mel frames → [batch, 256] unit-norm embeddings."""
        x = mels.astype(np.float32)
        h = np.zeros((len(x), 0), np.float32)
        for w_ih, w_hh, b in self.layers:
            batch, steps, _ = x.shape
            hid = w_hh.shape[0]
            pre = x @ w_ih + b  # every step's input part at once
            h, c = np.zeros((batch, hid), np.float32), np.zeros((batch, hid), np.float32)
            out = np.empty((batch, steps, hid), np.float32)
            for t in range(steps):
                g = pre[:, t] + h @ w_hh
                c = _sigmoid(g[:, hid:2 * hid]) * c + _sigmoid(g[:, :hid]) * np.tanh(g[:, 2 * hid:3 * hid])
                h = _sigmoid(g[:, 3 * hid:]) * np.tanh(c)
                out[:, t] = h
            x = out
        e = np.maximum(h @ self.linear[0] + self.linear[1], 0)
        return e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-9)

    def embed(self, pieces: Sequence[np.ndarray], step: int = 77, min_coverage: float = 0.75) -> np.ndarray:
        """Each piece (16 kHz samples) → one unit-norm d-vector, [len(pieces), 256]: its 1.6 s partials every
        ``step`` frames (the last kept when it covers ``min_coverage``; a shorter piece is zero-padded), averaged."""
        if not len(pieces):
            return np.zeros((0, EMBEDDING_SIZE), np.float32)
        with _one_blas_thread():  # the mel bank's products too: small, and slower on OpenBLAS's threads
            mels, owner = [], []
            for k, wav in enumerate(pieces):
                wav = _louder(np.asarray(wav, dtype=np.float32))
                frames = int(np.ceil((len(wav) + 1) / 160))
                starts = list(range(0, max(1, frames - _PARTIAL + step + 1), step))
                if len(starts) > 1 and (len(wav) - starts[-1] * 160) / (160 * _PARTIAL) < min_coverage:
                    starts = starts[:-1]
                mel = mel_frames(np.pad(wav, (0, max(0, (starts[-1] + _PARTIAL) * 160 - len(wav)))))
                mels += [mel[s:s + _PARTIAL] for s in starts]
                owner += [k] * len(starts)
            partial = np.concatenate([self.forward(np.stack(mels[i:i + _BATCH])) for i in range(0, len(mels), _BATCH)])
        owners = np.array(owner)
        out = np.stack([partial[owners == k].mean(axis=0) for k in range(len(pieces))])
        return out / (np.linalg.norm(out, axis=1, keepdims=True) + 1e-9)


@lru_cache(maxsize=1)
def load_encoder() -> Optional[VoiceEncoder]:
    """The d-vector encoder when ``resemblyzer`` is installed (weights converted once), else None."""
    path = weights_file()
    if path is None:
        return None
    try:
        return VoiceEncoder(_load_weights(path))
    except (OSError, ValueError, KeyError, pickle.UnpicklingError, struct.error):
        return None  # a damaged or unexpected file: the MFCC statistics instead
