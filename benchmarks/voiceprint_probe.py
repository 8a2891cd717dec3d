"""Probe (issue 21): Resemblyzer's GE2E voice encoder run in numpy, without PyTorch, against the MFCC statistics
the mono diarizer uses, on close pairs of RHVoice's Russian voices through 8 kHz μ-law and 32 kbps mp3.

Resemblyzer (Apache-2.0, PyPI) ships its weights inside its wheel (``resemblyzer/pretrained.pt``);
``compliance/speech/voice_encoder.py`` reads them into numpy and runs the network (the product's encoder since).

Nothing is installed: the wheel is read from a folder (``pip download resemblyzer --no-deps -d FOLDER``), and no
PyTorch, librosa or webrtcvad is imported. Research only; the product's diarizer is not changed (its feature code
and k-means are reused read-only). The pieces are speech (no silence trimming); the volume is normalised per piece.
What it prints: the cost side by side; each voice's mean d-vector against
every other's (clean, μ-law, mp3); same/different-speaker AUC, EER and d' over 1.5 s pieces of the close pairs,
with k-means accuracy; and, when the RHVoice set is made (``make_mono_audio.py --rhvoice``), per mono call the error
over speech of k-means and spectral clustering on each kind of vector and of the product's diarizer on the same
pieces, and the parties' d-vector cosine on two voices against one voice split in two. Needs RHVoice and sox.

    python benchmarks/voiceprint_probe.py --wheel /tmp/rz [--skip-pieces]    # prints the tables
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One BLAS thread: the LSTM's per-step products are small (64 × 256 by 256 × 1024), and OpenBLAS's threads on the
# 2 shared cores cost 3–6 CPU seconds a minute of speech against 0.2 s on one thread (measured, same pieces).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.speech.diarize import _frame_range, _separation, _vectors, diarize, mfcc  # noqa: E402
from compliance.speech.voices import kmeans2  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compliance.speech.decode import SAMPLE_RATE as RATE  # noqa: E402
from compliance.speech.voice_encoder import VoiceEncoder, read_torch_state  # noqa: E402


def normalise_volume(wav: np.ndarray) -> np.ndarray:
    return wav  # the encoder raises a quiet piece itself (Resemblyzer's normalize_volume, increase only)


def wheel_weights(folder: Path) -> tuple[dict[str, np.ndarray], dict]:
    """The weights read from a Resemblyzer wheel in ``folder`` (not installed), as the product reads the package."""
    import zipfile

    wheel = sorted(folder.glob("[Rr]esemblyzer-*.whl"))
    if not wheel:
        raise SystemExit(f"no Resemblyzer wheel in {folder}: pip download resemblyzer --no-deps -d {folder}")
    with zipfile.ZipFile(wheel[-1]) as z:
        raw = z.read("resemblyzer/pretrained.pt")
    info = {"wheel": wheel[-1].name, "wheel_mb": wheel[-1].stat().st_size / 1e6, "pt_mb": len(raw) / 1e6}
    return read_torch_state(raw), info

# --- the voices ---------------------------------------------------------------------------------------------------

PAIRS = [("victoria", "arina"), ("tatiana", "victoria"), ("aleksandr", "mikhail"), ("yuriy", "vitaliy")]
OTHERS = ["anna", "elena", "pavel"]  # a few clearly different voices for the plausibility matrix
CALL_FILES = ["verbatim_02_pipedrive_wholesale.txt", "client_forbidden_01_barbershop.txt",
              "paraphrased_03_crm_realty.txt"]
CHANNELS = ("clean", "mulaw", "mp3")
PIECE = 1.5  # seconds, as the diarizer's ``DiarizeOptions.chunk``


def _make_audio_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("_make_audio", ROOT / "tests" / "fixtures" / "make_audio.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def phrases(limit: int = 14) -> list[str]:
    out = []
    for name in CALL_FILES:
        for line in (ROOT / "tests" / "fixtures" / "calls" / name).read_text(encoding="utf-8").splitlines():
            text = line.split(":", 1)[-1].strip()
            if len(text) > 35:
                out.append(text)
    return out[:limit]


def voice_audio(voice: str, work: Path, make) -> list[np.ndarray]:
    """The phrases in ``voice`` (16 kHz, synthesiser's silence trimmed), made once into ``work``."""
    out = []
    for n, text in enumerate(phrases()):
        raw, wav = work / f"{voice}.{n}.raw.wav", work / f"{voice}.{n}.wav"
        if not wav.exists():
            subprocess.run(["RHVoice-test", "-p", voice, "-o", str(raw)], input=make._clean(text).encode(),
                           check=True, capture_output=True)
            make.trimmed_pcm(raw, wav, [])
        out.append(_read_wav(wav))
    return out


def _read_wav(path: Path) -> np.ndarray:
    import wave
    with wave.open(str(path)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768.0


def through(channel: str, signal: np.ndarray, work: Path, stem: str, make) -> np.ndarray:
    """``signal`` through 8 kHz μ-law WAV or 32 kbps mp3 and decoded back to 16 kHz as the product decodes it."""
    if channel == "clean":
        return signal
    from compliance.speech.decode import decode_audio
    path = work / f"{stem}.{'wav' if channel == 'mulaw' else 'mp3'}"
    if not path.exists():
        if channel == "mulaw":
            make.encode(signal[None], path, "pcm_mulaw", 8000)
        else:
            make.encode(signal[None], path, "libmp3lame", 8000, 32000)
    heard = np.asarray(decode_audio(path).channels[0], dtype=np.float32)[:len(signal)]
    return np.pad(heard, (0, len(signal) - len(heard)))


def pieces_of(voice: str, channel: str, work: Path, make) -> list[np.ndarray]:
    """The voice's phrases laid end to end (0.3 s apart), through ``channel``, cut into ``PIECE``-second pieces of
    speech (a phrase's remainder under half a piece dropped), as the diarizer's pieces."""
    parts = voice_audio(voice, work, make)
    gap = np.zeros(int(0.3 * RATE), np.float32)
    signal = np.concatenate([np.concatenate([p, gap]) for p in parts])
    heard = through(channel, signal, work, f"{voice}.{len(parts)}.{channel}", make)
    out, at, size = [], 0, int(PIECE * RATE)
    for p in parts:
        for s in range(0, len(p), size):
            if len(p) - s >= size // 2:
                out.append(heard[at + s:at + min(s + size, len(p))])
        at += len(p) + len(gap)
    return out


# --- the measures -------------------------------------------------------------------------------------------------

def mfcc_vectors(pieces: list[np.ndarray]) -> np.ndarray:
    """The diarizer's piece vectors: telephone-band MFCCs normalised over the call's speech, each piece's mean and
    spread, standardised over the pieces (``compliance.speech.diarize``, read only)."""
    frames = [mfcc(p) for p in pieces]
    feats = np.concatenate(frames)
    feats = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-6)
    ends = np.cumsum([len(f) for f in frames])
    x = _vectors(feats, list(zip(np.r_[0, ends[:-1]], ends)))
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-6)


def _cosine(x: np.ndarray) -> np.ndarray:
    u = x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-9)
    return u @ u.T


def separability(scores: np.ndarray, who: np.ndarray) -> dict[str, float]:
    """Same/different-speaker trials over all pairs of pieces: ROC AUC, equal error rate and d' (the Fisher-like
    distance of the two score distributions: mean gap over their pooled spread)."""
    iu = np.triu_indices(len(who), 1)
    s, same = scores[iu], (who[:, None] == who[None, :])[iu]
    pos, neg = s[same], s[~same]
    ranks = np.argsort(np.argsort(np.r_[pos, neg])) + 1.0
    auc = (ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))
    cut = np.sort(s)
    far = np.array([(neg >= t).mean() for t in cut])
    frr = np.array([(pos < t).mean() for t in cut])
    k = int(np.argmin(np.abs(far - frr)))
    d = (pos.mean() - neg.mean()) / np.sqrt((pos.var() + neg.var()) / 2)
    return {"auc": float(auc), "eer": float((far[k] + frr[k]) / 2), "d": float(d)}


def kmeans_accuracy(x: np.ndarray, who: np.ndarray) -> float:
    """The diarizer's two-way k-means (first principal axis seed), share of pieces in the right party."""
    labels = kmeans2(x, np.ones(len(x)))
    right = (labels == (who == who[0]).astype(int)).mean()
    return float(max(right, 1 - right))


_EMBEDDED: dict[tuple[str, str], np.ndarray] = {}


def dvectors(encoder: VoiceEncoder, voice: str, channel: str, work: Path, make) -> np.ndarray:
    if (voice, channel) not in _EMBEDDED:
        _EMBEDDED[voice, channel] = encoder.embed([normalise_volume(p) for p in pieces_of(voice, channel, work, make)])
    return _EMBEDDED[voice, channel]


def pair_table(encoder: VoiceEncoder, work: Path, make) -> list[dict]:
    rows = []
    for a, b in PAIRS:
        for channel in CHANNELS:
            pa, pb = pieces_of(a, channel, work, make), pieces_of(b, channel, work, make)
            pieces, who = pa + pb, np.array([0] * len(pa) + [1] * len(pb))
            xm = mfcc_vectors(pieces)
            xd = np.concatenate([dvectors(encoder, v, channel, work, make) for v in (a, b)])
            rows.append({"pair": f"{a}/{b}", "channel": channel, "pieces": len(pieces),
                         "mfcc_euclid": separability(-np.sqrt(((xm[:, None] - xm[None]) ** 2).sum(-1)), who),
                         "mfcc_cos": separability(_cosine(xm), who),
                         "dvec": separability(xd @ xd.T, who),
                         "dvec_c": separability(_cosine(xd - xd.mean(axis=0)), who),
                         "km_mfcc": kmeans_accuracy(xm, who), "km_dvec": kmeans_accuracy(xd, who)})
            print(_row(rows[-1]), flush=True)
    return rows


def _row(r: dict) -> str:
    f = "{auc:.3f} {eer:5.1%} {d:4.2f}"
    return (f"{r['pair']:<18} {r['channel']:<6} {r['pieces']:>4}  {f.format(**r['mfcc_euclid'])}  "
            f"{f.format(**r['mfcc_cos'])}  {f.format(**r['dvec'])}  {f.format(**r['dvec_c'])}   "
            f"{r['km_mfcc']:.2f} / {r['km_dvec']:.2f}")


def voice_matrix(encoder: VoiceEncoder, work: Path, make, channel: str) -> tuple[list[str], np.ndarray]:
    """Cosine of each voice's mean d-vector over the first half of its pieces against every voice's over the second
    half (the diagonal: the same voice on other words)."""
    voices = sorted({v for pair in PAIRS for v in pair} | set(OTHERS))
    first, second = [], []
    for v in voices:
        e = dvectors(encoder, v, channel, work, make)
        half = len(e) // 2
        first.append(e[:half].mean(axis=0))
        second.append(e[half:].mean(axis=0))
    u = np.array(first) / np.linalg.norm(first, axis=1, keepdims=True)
    w = np.array(second) / np.linalg.norm(second, axis=1, keepdims=True)
    return voices, u @ w.T


def cost(encoder: VoiceEncoder, work: Path, make, rounds: int = 5) -> dict[str, tuple[float, float]]:
    """CPU seconds (all threads) per minute of speech, 40 pieces of 1.5 s through each method, the two interleaved
    ``rounds`` times (best and median: the 2 cores are shared and wall-clock runs swung tenfold)."""
    pieces = (pieces_of("victoria", "mp3", work, make) * 3)[:40]
    speech = sum(len(p) for p in pieces) / RATE
    runs: dict[str, list[float]] = {"mfcc": [], "dvec": []}
    fns = {"mfcc": mfcc_vectors, "dvec": lambda p: encoder.embed([normalise_volume(x) for x in p])}
    fns["dvec"](pieces[:2])  # warm up
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.process_time()
            fn(pieces)
            runs[name].append((time.process_time() - t) * 60.0 / speech)
    return {name: (min(v), float(np.median(v))) for name, v in runs.items()}


def spectral2(x: np.ndarray, keep: float = 0.3) -> np.ndarray:
    """Two parties by spectral clustering of a pruned cosine-affinity graph (the usual clustering of
    d-vectors, Wang et al. 2018): vectors centred on the call and normalised, each piece's affinities kept for its
    ``keep`` nearest pieces, symmetrised."""
    u = x - x.mean(axis=0)
    u = u / (np.linalg.norm(u, axis=1, keepdims=True) + 1e-9)
    a = (1.0 + u @ u.T) / 2.0
    k = max(2, int(np.ceil(keep * len(a))))
    cut = np.sort(a, axis=1)[:, -k][:, None]
    a = np.where(a >= cut, a, 0.0)
    a = np.maximum(a, a.T)
    d = a.sum(axis=1)
    lap = np.eye(len(a)) - a / np.sqrt(np.outer(d, d))
    vectors = np.linalg.eigh(lap)[1][:, :2]  # the two smallest: a disconnected graph's parts, or the Fiedler cut
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)
    return kmeans2(vectors, np.ones(len(vectors)))


def _weighted_accuracy(x: np.ndarray, who: np.ndarray, seconds: np.ndarray, spectral: bool = False) -> float:
    labels = spectral2(x) if spectral else kmeans2(x, seconds)
    right = seconds[labels == who].sum() / seconds.sum()
    return float(max(right, 1 - right))


def centroid_cosine(x: np.ndarray, labels: np.ndarray) -> float:
    """Cosine of the two parties' mean d-vectors: near 1 for one voice split in two, lower for two voices."""
    if len(set(labels.tolist())) < 2:
        return 1.0
    a, b = x[labels == 0].mean(axis=0), x[labels == 1].mean(axis=0)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def one_voice_table(encoder: VoiceEncoder, folder: Path) -> list[float]:
    """Each party's channel of the stereo calls alone (one voice, 8 kHz μ-law): its turns' pieces split in two by
    the spectral clustering, and the cosine of the two halves' mean d-vectors."""
    from compliance.speech.decode import decode_audio
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for name, entry in sorted(manifest.items()):
        if ".stereo." not in name or len(entry.get("voices", [])) != 2:
            continue
        channels = decode_audio(folder / name).channels
        for side, speaker in enumerate(("manager", "client")):
            audio = np.asarray(channels[side], dtype=np.float32)
            pieces = []
            for turn in entry["turns"]:
                t = turn["start"]
                while turn["speaker"] == speaker and turn["end"] - t >= 0.5:
                    pieces.append(audio[int(t * RATE):int(min(t + PIECE, turn["end"]) * RATE)])
                    t += PIECE
            if len(pieces) >= 6:
                xd = encoder.embed([normalise_volume(p) for p in pieces])
                out.append(centroid_cosine(xd, spectral2(xd)))
    return out


def _turn_pieces(turns: list[dict], speakers: tuple[str, ...]) -> tuple[list[tuple[float, float]], np.ndarray]:
    spans, who = [], []
    for turn in turns:
        t = turn["start"]
        while turn["speaker"] in speakers and turn["end"] - t >= 0.5:
            spans.append((t, min(t + PIECE, turn["end"])))
            who.append(0 if turn["speaker"] == "manager" else 1)
            t += PIECE
    return spans, np.array(who)


def split_separation(encoder: VoiceEncoder, audio: np.ndarray, spans: list[tuple[float, float]]) -> float:
    """The d-vectors' spectral split of the pieces, judged as the diarizer judges a split: its ``_separation`` over
    the call's normalised MFCC frames (the one-voice line is 0.32 there)."""
    feats = mfcc(audio)
    frames = [_frame_range(a, b, len(feats)) for a, b in spans]
    speech = np.concatenate([feats[a:b] for a, b in frames])
    feats = (feats - speech.mean(axis=0)) / (speech.std(axis=0) + 1e-6)
    xd = encoder.embed([normalise_volume(audio[int(a * RATE):int(b * RATE)]) for a, b in spans])
    return _separation(feats, frames, list(spectral2(xd)))


def separation_table(encoder: VoiceEncoder, folder: Path) -> None:
    """The separation of the d-vector split on two voices (the mono files) against one voice (each stereo channel
    alone, its own party's turns)."""
    from compliance.speech.decode import decode_audio
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    two, one = [], []
    for name, entry in sorted(manifest.items()):
        if len(entry.get("voices", [])) != 2:
            continue
        channels = decode_audio(folder / name).channels
        if ".mono." in name:
            spans, _ = _turn_pieces(entry["turns"], ("manager", "client"))
            two.append((split_separation(encoder, np.asarray(channels[0], np.float32), spans), name, entry["voices"]))
        elif ".stereo." in name:
            for side, speaker in enumerate(("manager", "client")):
                spans, _ = _turn_pieces(entry["turns"], (speaker,))
                one.append(split_separation(encoder, np.asarray(channels[side], np.float32), spans))
    for value, name, voices in sorted(two)[:6]:
        print(f"  two voices, lowest: {'/'.join(voices):<18} {name:<52} {value:.3f}")
    print(f"separation of the d-vector split: two voices {min(v for v, _, _ in two):.3f}–{max(v for v, _, _ in two):.3f}"
          f" ({len(two)} files), one voice {min(one):.3f}–{max(one):.3f} ({len(one)} channels)")


def call_table(encoder: VoiceEncoder, folder: Path) -> list[dict]:
    """The mono RHVoice calls (``make_mono_audio.py --rhvoice``): each turn cut into pieces of up to 1.5 s (a
    remainder under 0.5 s dropped), the pieces' vectors as above, k-means into two parties, accuracy weighted by
    time (≈ 1 − the diarization error over speech, without collar or smoothing)."""
    from compliance.speech.decode import decode_audio
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = []
    for name, entry in sorted(manifest.items(), key=lambda kv: (kv[1].get("voices", []), kv[0])):
        if ".mono." not in name or len(entry.get("voices", [])) != 2:
            continue
        audio = np.asarray(decode_audio(folder / name).channels[0], dtype=np.float32)
        spans, who = [], []
        for turn in entry["turns"]:
            t = turn["start"]
            while turn["end"] - t >= 0.5:
                spans.append((t, min(t + PIECE, turn["end"])))
                who.append(0 if turn["speaker"] == "manager" else 1)
                t += PIECE
        who_a = np.array(who)
        pieces = [audio[int(a * RATE):int(b * RATE)] for a, b in spans]
        seconds = np.array([b - a for a, b in spans])
        xm = mfcc_vectors(pieces)
        xd = encoder.embed([normalise_volume(p) for p in pieces])
        split = diarize(audio, spans)  # the product's diarizer, the pieces as its units
        labels = np.array(split.labels)
        right = max(seconds[labels == who_a].sum(), seconds[labels == 1 - who_a].sum()) / seconds.sum()
        rows.append({"call": name, "voices": "/".join(entry["voices"]), "part": entry.get("part", ""),
                     "diarizer": float(right), "split": f"{split.voices}{'' if split.confident else '?'} "
                                                       f"{split.separation:.2f}",
                     "mfcc": separability(_cosine(xm), who_a),
                     "dvec": separability(_cosine(xd - xd.mean(axis=0)), who_a),
                     "km_mfcc": _weighted_accuracy(xm, who_a, seconds), "km_dvec": _weighted_accuracy(xd, who_a, seconds),
                     "sp_mfcc": _weighted_accuracy(xm, who_a, seconds, True),
                     "sp_dvec": _weighted_accuracy(xd, who_a, seconds, True),
                     "gap": centroid_cosine(xd, spectral2(xd))})
        r = rows[-1]
        print(f"{r['voices']:<20} {r['part']:<8} {name.split('.')[0][:34]:<34} {name.rsplit('.', 1)[1]:<4} "
              f"{r['mfcc']['auc']:.3f} / {r['dvec']['auc']:.3f}   {1 - r['km_mfcc']:6.1%} / {1 - r['km_dvec']:6.1%}   "
              f"{1 - r['sp_mfcc']:6.1%} / {1 - r['sp_dvec']:6.1%}   {1 - r['diarizer']:6.1%} {r['split']}  {r['gap']:.3f}",
              flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True, help="folder with Resemblyzer-*.whl")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "voiceprint-probe",
                        help="where the synthesised phrases are kept between runs")
    parser.add_argument("--calls", type=Path, default=Path.home() / ".cache" / "call-compliance" / "mono-rhvoice-v1",
                        help="the mono RHVoice set (benchmarks/make_mono_audio.py --rhvoice); skipped if absent")
    parser.add_argument("--skip-pieces", action="store_true", help="only the calls' table")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    make = _make_audio_module()
    state, info = wheel_weights(args.wheel)
    print(f"{info['wheel']}: wheel {info['wheel_mb']:.1f} MB, pretrained.pt {info['pt_mb']:.1f} MB, "
          f"{sum(v.size for v in state.values() if isinstance(v, np.ndarray)):,} numbers; torch not imported: "
          f"{'torch' not in sys.modules}")
    encoder = VoiceEncoder(state)
    print(f"uptime: {os.popen('uptime').read().strip()}")
    c = cost(encoder, args.work, make)
    print(f"CPU seconds per minute of speech (1.5 s pieces), best / median of 5: MFCC statistics {c['mfcc'][0]:.2f} / "
          f"{c['mfcc'][1]:.2f} s, d-vectors {c['dvec'][0]:.2f} / {c['dvec'][1]:.2f} s "
          f"({c['dvec'][0] / c['mfcc'][0]:.0f}× / {c['dvec'][1] / c['mfcc'][1]:.0f}×)")
    for channel in CHANNELS if not args.skip_pieces else ():
        voices, m = voice_matrix(encoder, args.work, make, channel)
        off = m - np.eye(len(m)) * 9
        i, j = np.unravel_index(np.argmax(off), m.shape)
        print(f"\nd-vector cosine, {channel}: same voice (other words) {np.diag(m).min():.3f}–{np.diag(m).max():.3f}; "
              f"other voices {np.sort(m[~np.eye(len(m), dtype=bool)])[0]:.3f}–{off.max():.3f} "
              f"(closest {voices[i]}/{voices[j]})")
        print("          " + " ".join(f"{v[:6]:>6}" for v in voices))
        for v, r in zip(voices, m):
            print(f"{v[:9]:<9} " + " ".join(f"{x:6.3f}" for x in r))
    if not args.skip_pieces:
        print("\nsame/different speaker over all pairs of 1.5 s pieces: AUC, EER, d'; two-way k-means accuracy")
        print(f"{'pair':<18} {'chan':<6} {'n':>4}  {'MFCC stats (euclid)':<19}  {'MFCC stats (cos)':<19}  "
              f"{'d-vector (cos)':<19}  {'d-vec centred (cos)':<19}   k-means MFCC / d-vec")
        pair_table(encoder, args.work, make)
    if (args.calls / "manifest.json").exists():
        print("\nmono calls, pieces of the true turns: same/different AUC (MFCC stats / d-vector centred); k-means error over "
              "speech (MFCC stats / d-vector); spectral error (MFCC stats / d-vector); "
              "the diarizer (MFCC, full) error, voices (? flagged) and separation; d-vector parties' cosine")
        rows = call_table(encoder, args.calls)
        for key in ("km_mfcc", "km_dvec", "sp_mfcc", "sp_dvec", "diarizer"):
            errors = [1 - r[key] for r in rows]
            print(f"{key}: mean error {np.mean(errors):.1%}, worst {max(errors):.1%}, "
                  f"calls over 10 %: {sum(e > 0.10 for e in errors)} of {len(errors)}")
        gaps = [r["gap"] for r in rows]
        print(f"d-vector parties' cosine, two voices (spectral split): {min(gaps):.3f}–{max(gaps):.3f}")
        alone = one_voice_table(encoder, args.calls)
        print(f"d-vector parties' cosine, one voice split in two (each stereo channel alone, {len(alone)}): "
              f"{min(alone):.3f}–{max(alone):.3f}")
        print("\nthe d-vector split judged by the diarizer's separation (MFCC frames), two voices against one:")
        separation_table(encoder, args.calls)
    print(f"\nuptime: {os.popen('uptime').read().strip()}")


if __name__ == "__main__":
    main()
