"""Diarization candidates side by side on the mono test set (benchmarks/make_mono_audio.py), without recognition.

Speech is found by silero's VAD (the ONNX model faster-whisper bundles) and cut into 0.4 s pieces; each candidate
labels the pieces with a party; the diarization error rate (collar 0.25 s, overlap counted) is measured against
the spoken turns, with the time each candidate took per minute of audio:

- ``mfcc+kmeans``: MFCC mean/spread per ~1.5 s of speech, two-way k-means (numpy);
- ``mfcc+kmeans+reseg``: the same, then each piece re-labelled by the parties' Gaussians and a Viterbi pass (what
  compliance.speech.diarize does);
- ``whisper-enc+kmeans``: the Whisper base encoder's states (the model the pipeline runs, ``WhisperModel.encode``)
  averaged per ~1.5 s of speech, two-way k-means.

Then the voice count, which decides between two parties and one voice: the chosen diarizer's ``separation`` on
the two-voice mono calls against each party's channel alone (the stereo file's channels, as 8 kHz μ-law and
re-encoded as 32 kbps mp3), and how many of each are called one voice, two, or two but not sure. Last, the
candidates on six calls whose client speaks with another synthesizer (espeak-ng; ``other_voice_calls``), and on six
whose client is another recorded person (festival's Czech voices reading the Russian turns in Czech letters).

    python benchmarks/diarize_bench.py [--limit N] [--no-whisper]
"""
from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_bench_audio import _make_audio_module  # noqa: E402
from make_mono_audio import mono_calls, other_voice_calls  # noqa: E402

from compliance.speech import diarize as dz  # noqa: E402
from compliance.speech.decode import SAMPLE_RATE, decode_audio  # noqa: E402
from compliance.speech.voices import kmeans2  # noqa: E402

COLLAR = 0.25


def der(turns: list[dict], spans: list[tuple[float, float, int]], duration: float) -> float:
    """Diarization error rate (10 ms frames): missed + false-alarm + confused speaker time over reference speaker
    time, frames within ``COLLAR`` of a reference boundary not scored; parties matched to speakers at best."""
    n = int(duration * 100) + 1
    speakers = sorted({t["speaker"] for t in turns})
    ref = np.zeros((len(speakers), n), dtype=bool)
    scored = np.ones(n, dtype=bool)
    for t in turns:
        a, b = int(t["start"] * 100), int(t["end"] * 100)
        ref[speakers.index(t["speaker"]), a:b] = True
        for edge in (a, b):
            scored[max(0, edge - int(COLLAR * 100)):edge + int(COLLAR * 100)] = False
    labels = sorted({k for _, _, k in spans})
    hyp = np.zeros((max(len(labels), 1), n), dtype=bool)
    for a, b, k in spans:
        hyp[labels.index(k), int(a * 100):int(b * 100)] = True
    ref, hyp = ref[:, scored], hyp[:, scored]
    total = ref.sum()
    if total == 0:
        return 0.0
    best = None
    size = max(len(speakers), len(hyp))
    for perm in itertools.permutations(range(size), len(hyp)):
        correct = sum(int((hyp[i] & ref[j]).sum()) for i, j in enumerate(perm) if j < len(speakers))
        best = correct if best is None else max(best, correct)
    n_ref, n_hyp = ref.sum(axis=0), hyp.sum(axis=0)
    return float((np.maximum(n_ref, n_hyp).sum() - (best or 0)) / total)


def merge(units: list[tuple[float, float]], labels: list[int], join: float = 0.5) -> list[tuple[float, float, int]]:
    """Labelled units as spans: a party's neighbouring units closer than ``join`` are one stretch of speech."""
    out: list[list] = []
    for (a, b), k in zip(units, labels):
        if k < 0:
            continue
        if out and out[-1][2] == k and a - out[-1][1] <= join:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b, k])
    return [(a, b, k) for a, b, k in out]


def vad_units(audio: np.ndarray) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = get_speech_timestamps(audio, VadOptions(min_silence_duration_ms=300, speech_pad_ms=30))
    units = []
    for r in regions:
        a, b = r["start"] / SAMPLE_RATE, r["end"] / SAMPLE_RATE
        while a < b - 0.05:
            units.append((a, min(a + 0.4, b)))
            a += 0.4
    return units


def _kmeans_labels(vectors: np.ndarray, groups: list[list[int]], n: int) -> list[int]:
    x = (vectors - vectors.mean(axis=0)) / (vectors.std(axis=0) + 1e-6)
    chunk = kmeans2(x, np.ones(len(x)))
    labels = [0] * n
    for g, k in zip(groups, chunk):
        for i in g:
            labels[i] = int(k)
    return labels


def mfcc_kmeans(audio: np.ndarray, units: list[tuple[float, float]]) -> list[int]:
    feats = dz.mfcc(audio)
    feats = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-6)
    groups = dz._chunks(units, 1.5)
    spans = [dz._frame_range(units[g[0]][0], units[g[-1]][1], len(feats)) for g in groups]
    return _kmeans_labels(dz._vectors(feats, spans), groups, len(units))


def mfcc_reseg(audio: np.ndarray, units: list[tuple[float, float]]) -> list[int]:
    return dz.diarize(audio, units).labels


def whisper_encoder(model):
    def run(audio: np.ndarray, units: list[tuple[float, float]]) -> list[int]:
        states = []
        window = 30 * SAMPLE_RATE
        for s in range(0, len(audio), window):
            piece = audio[s:s + window]
            feats = model.feature_extractor(np.pad(piece, (0, window - len(piece))))[:, :3000]
            states.append(np.array(model.encode(feats))[0][: int(np.ceil(len(piece) / SAMPLE_RATE * 50))])
        enc = np.concatenate(states)  # one state per 20 ms
        groups = dz._chunks(units, 1.5)
        vectors = np.array([enc[int(units[g[0]][0] * 50):max(int(units[g[-1]][1] * 50), int(units[g[0]][0] * 50) + 1)]
                            .mean(axis=0) for g in groups])
        return _kmeans_labels(vectors, groups, len(units))
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N calls of each format")
    parser.add_argument("--no-whisper", action="store_true", help="leave out the Whisper encoder candidate")
    args = parser.parse_args(argv)
    folder, manifest = mono_calls()
    candidates = {"mfcc+kmeans": mfcc_kmeans, "mfcc+kmeans+reseg": mfcc_reseg}
    if not args.no_whisper:
        from compliance.speech.engine import TranscribeOptions, load_model

        candidates["whisper-enc+kmeans"] = whisper_encoder(load_model(TranscribeOptions()))
    two = _candidates(folder, manifest, candidates, args.limit)
    _voice_count(folder, manifest, two, args.limit)
    print("\nanother synthesizer for the client (espeak-ng), festival's voices for the manager:")
    other, other_manifest = other_voice_calls()
    _candidates(other, other_manifest, candidates, args.limit)
    print("\nanother recorded voice for the client (festival's Czech voices reading the Russian turns):")
    other, other_manifest = other_voice_calls(czech=True)
    _candidates(other, other_manifest, candidates, args.limit)
    return 0


def _candidates(folder: Path, manifest: dict, candidates: dict, limit: int) -> dict[str, list[dz.Diarization]]:
    """The candidates' DER per format; returns the chosen diarizer's verdicts on the two-voice calls."""
    two: dict[str, list[dz.Diarization]] = {}
    for fmt in ("mono.wav", "mono.mp3"):
        files = [f for f, m in manifest.items() if f.endswith(fmt) and m["kind"] == "call"]
        files = files[:limit] if limit else files
        errors = {c: [] for c in candidates}
        seconds = {c: 0.0 for c in candidates}
        vad_time, audio_time = 0.0, 0.0
        for f in files:
            audio = decode_audio(folder / f).channels[0]
            audio_time += len(audio) / SAMPLE_RATE
            began = time.perf_counter()
            units = vad_units(audio)
            vad_time += time.perf_counter() - began
            two.setdefault(fmt, []).append(dz.diarize(audio, units))
            for name, run in candidates.items():
                began = time.perf_counter()
                labels = run(audio, units)
                seconds[name] += time.perf_counter() - began
                errors[name].append(der(manifest[f]["turns"], merge(units, labels), manifest[f]["duration"]))
        label = "8 kHz μ-law" if fmt == "mono.wav" else "32 kbps mp3"
        print(f"\n{label}: {len(files)} calls, {audio_time / 60:.1f} min; silero VAD {vad_time / audio_time * 60:.2f} s "
              "per audio minute")
        print(f"{'candidate':<22} {'DER mean':>9} {'DER max':>8} {'s/audio min':>12}")
        for name in candidates:
            e = errors[name]
            print(f"{name:<22} {np.mean(e) * 100:8.1f}% {np.max(e) * 100:7.1f}% {seconds[name] / audio_time * 60:12.2f}")
    return two


def _one_voice_audio(folder: Path, manifest: dict, limit: int):
    """Each party's channel of the stereo calls alone: (format, audio) as 8 kHz μ-law and as 32 kbps mp3."""
    make = _make_audio_module()
    files = [f for f, m in manifest.items() if f.endswith("stereo.wav") and m["kind"] == "call"]
    with tempfile.TemporaryDirectory() as tmp:
        for f in files[:limit] if limit else files:
            decoded = decode_audio(folder / f)
            for k, channel in enumerate(decoded.channels):
                yield "mono.wav", channel
                target = Path(tmp) / f"{k}.mp3"
                make.encode(channel[None, :], target, "libmp3lame", 8000, 32000)
                yield "mono.mp3", decode_audio(target).channels[0]


def _voice_count(folder: Path, manifest: dict, two: dict[str, list[dz.Diarization]], limit: int) -> None:
    options = dz.DiarizeOptions()
    one: dict[str, list[dz.Diarization]] = {}
    for fmt, audio in _one_voice_audio(folder, manifest, limit):
        one.setdefault(fmt, []).append(dz.diarize(audio, vad_units(audio)))
    print(f"\nvoice count (one voice below {options.one_voice}, or below {options.min_separation} with the parties' "
          f"contrast below {options.one_voice_contrast}; two but flagged below {options.min_separation}):")
    print(f"{'':<34} {'separation min–max':>19} {'one':>5} {'two, flagged':>13} {'two':>5}")
    for fmt in ("mono.wav", "mono.mp3"):
        label = "8 kHz μ-law" if fmt == "mono.wav" else "32 kbps mp3"
        for kind, found in (("two voices", two.get(fmt, [])), ("one voice (a channel)", one.get(fmt, []))):
            if not found:
                continue
            seps = [r.separation for r in found]
            low = sum(r.voices < 2 for r in found)
            high = sum(r.voices == 2 and r.confident for r in found)
            print(f"{kind + ', ' + label:<34} {min(seps):5.2f}–{max(seps):5.2f} {low:>5} {len(seps) - low - high:>13} "
                  f"{high:>5}")


if __name__ == "__main__":
    sys.exit(main())
