"""Resemblyzer's GE2E voice encoder without PyTorch: its ``pretrained.pt`` read from the wheel into numpy arrays, and
the network's forward pass in numpy (research for issue 21, used by ``benchmarks/voiceprint_probe.py``).

``pretrained.pt`` is PyTorch's legacy (pre-1.6) serialisation, not a zip: four pickles (magic number, protocol,
system info, the state dict whose tensors name their storages by persistent ids) and then each storage's raw bytes,
each preceded by its element count. ``load_state`` reads it with a plain ``pickle.Unpickler``; ``VoiceEncoder`` is
Resemblyzer's network (40 linear mel bands of 25 ms windows every 10 ms, 160 frames = 1.6 s, three LSTM layers of
256 with torch's gate order i, f, g, o, linear 256, ReLU, L2 norm) and ``embed`` its ``embed_utterance`` (1.6 s
partials every 77 frames, averaged). Not checked number for number against PyTorch (no torch here): the mel frames
follow librosa ≥ 0.10 (zero padding), and webrtcvad's silence trimming is left to the caller.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

RATE = 16000
_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32, "ByteStorage": np.uint8}


# --- the weights, without torch ---------------------------------------------------------------------------------

class _Storage:
    def __init__(self, dtype: type, numel: int) -> None:
        self.dtype, self.numel, self.data = dtype, numel, None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray:
        item = np.dtype(self.storage.dtype).itemsize
        return np.lib.stride_tricks.as_strided(self.storage.data[self.offset:], self.size,
                                               [s * item for s in self.stride]).copy()


def _rebuild_tensor_v2(storage, offset, size, stride, *_rest):
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages: dict) -> None:
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel, _view = pid
        if kind != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {kind}")
        if key not in self.storages:
            self.storages[key] = _Storage(dtype, numel)
        return self.storages[key]


def load_state(raw: bytes) -> dict[str, np.ndarray]:
    """A legacy ``torch.save`` file's bytes → its (nested) state as numpy arrays."""
    f = io.BytesIO(raw)
    if pickle.load(f) != 0x1950A86A20F9469CFC6C:
        raise ValueError("not a legacy torch file")
    pickle.load(f), pickle.load(f)  # protocol version, system info
    storages: dict = {}
    state = _Unpickler(f, storages).load()
    for key in pickle.load(f):
        st = storages[key]
        (numel,) = struct.unpack("<q", f.read(8))
        st.data = np.frombuffer(f.read(numel * np.dtype(st.dtype).itemsize), dtype=st.dtype)

    def convert(x):
        if isinstance(x, _Tensor):
            return x.array()
        if isinstance(x, dict):
            return {k: convert(v) for k, v in x.items()}
        return x
    return convert(state)


def wheel_weights(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    wheel = sorted(folder.glob("[Rr]esemblyzer-*.whl"))
    if not wheel:
        raise SystemExit(f"no Resemblyzer wheel in {folder}: pip download resemblyzer --no-deps -d {folder}")
    with zipfile.ZipFile(wheel[-1]) as z:
        raw = z.read("resemblyzer/pretrained.pt")
        info = {"wheel": wheel[-1].name, "wheel_mb": wheel[-1].stat().st_size / 1e6, "pt_mb": len(raw) / 1e6}
    state = load_state(raw)
    return state.get("model_state", state), info


# --- the network in numpy ---------------------------------------------------------------------------------------

def _mel_slaney(n_fft: int = 400, n_mels: int = 40, sr: int = RATE) -> np.ndarray:
    """librosa.filters.mel(sr, n_fft, n_mels) with its defaults (Slaney scale and area norm, 0..sr/2)."""
    f_sp, min_log_hz, min_log_mel, logstep = 200.0 / 3, 1000.0, 15.0, np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=float)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2))
    fft_f = np.fft.rfftfreq(n_fft, 1.0 / sr)
    fdiff, ramps = np.diff(mel_f), mel_f[:, None] - fft_f[None, :]
    w = np.maximum(0, np.minimum(-ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]))
    return (w * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]).astype(np.float32)


_BANK = _mel_slaney()
_HANN = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)).astype(np.float32)  # periodic, as librosa


def mel_frames(wav: np.ndarray) -> np.ndarray:
    """librosa.feature.melspectrogram(y, sr=16000, n_fft=400, hop_length=160, n_mels=40).T (power, not log;
    centred frames, zero padding as librosa ≥ 0.10)."""
    padded = np.pad(wav.astype(np.float32), 200)
    n = 1 + (padded.size - 400) // 160
    frames = np.lib.stride_tricks.sliding_window_view(padded, 400)[::160][:n]
    return (np.abs(np.fft.rfft(frames * _HANN, 400)) ** 2).astype(np.float32) @ _BANK.T


def normalise_volume(wav: np.ndarray, target_dbfs: float = -30.0) -> np.ndarray:
    """Resemblyzer's ``normalize_volume(increase_only=True)``."""
    rms = np.sqrt(np.mean((wav * 32767.0) ** 2)) + 1e-9
    change = target_dbfs - 20 * np.log10(rms / 32767.0)
    return wav if change < 0 else wav * (10 ** (change / 20))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class VoiceEncoder:
    """GE2E d-vectors from the state dict: ``lstm.weight_ih_l{k}`` etc., torch's gate order i, f, g, o."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.layers = [(state[f"lstm.weight_ih_l{k}"].T.copy(), state[f"lstm.weight_hh_l{k}"].T.copy(),
                        state[f"lstm.bias_ih_l{k}"] + state[f"lstm.bias_hh_l{k}"]) for k in range(3)]
        self.linear = (state["linear.weight"].T.copy(), state["linear.bias"])

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """[batch, frames, 40] → [batch, 256] L2-normed embeddings."""
        x = mels.astype(np.float32)
        h = None
        for w_ih, w_hh, b in self.layers:
            batch, steps, _ = x.shape
            hid = w_hh.shape[0]
            pre = x @ w_ih + b  # all time steps' input part at once
            h, c = np.zeros((batch, hid), np.float32), np.zeros((batch, hid), np.float32)
            out = np.empty((batch, steps, hid), np.float32)
            for t in range(steps):
                g = pre[:, t] + h @ w_hh
                i, f = _sigmoid(g[:, :hid]), _sigmoid(g[:, hid:2 * hid])
                cell, o = np.tanh(g[:, 2 * hid:3 * hid]), _sigmoid(g[:, 3 * hid:])
                c = f * c + i * cell
                h = o * np.tanh(c)
                out[:, t] = h
            x = out
        e = np.maximum(h @ self.linear[0] + self.linear[1], 0)
        return e / (np.linalg.norm(e, axis=1, keepdims=True) + 1e-9)

    def embed(self, pieces: list[np.ndarray], rate: float = 1.3, min_coverage: float = 0.75) -> np.ndarray:
        """Each piece (16 kHz, volume-normalised) → one d-vector: Resemblyzer's ``embed_utterance`` (partials of
        160 frames every round(16000 / rate / 160) frames, the last one kept when it covers ``min_coverage``)."""
        step = int(round(RATE / rate / 160))
        mels, owner = [], []
        for k, wav in enumerate(pieces):
            n_frames = int(np.ceil((len(wav) + 1) / 160))
            starts = list(range(0, max(1, n_frames - 160 + step + 1), step))
            if len(starts) > 1 and (len(wav) - starts[-1] * 160) / (160 * 160) < min_coverage:
                starts = starts[:-1]
            need = (starts[-1] + 160) * 160
            padded = np.pad(wav, (0, max(0, need - len(wav))))
            mel = mel_frames(padded)
            for s in starts:
                mels.append(mel[s:s + 160])
                owner.append(k)
        partial = np.concatenate([self.forward(np.stack(mels[i:i + 64])) for i in range(0, len(mels), 64)])
        owner_a = np.array(owner)
        out = np.stack([partial[owner_a == k].mean(axis=0) for k in range(len(pieces))])
        return out / np.linalg.norm(out, axis=1, keepdims=True)
