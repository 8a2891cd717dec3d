"""Whisper's 30 s windows and the model's CPU per call: our recognition against the peer's batched pipeline.

For each recording, side by side in one process on the same decoded audio:

- windows: how many 30 s windows each decodes and the seconds of audio in each: ours (the first pass as
  ``speech.recognise`` packs the VAD's regions, and the gap pass's stretches) and faster-whisper's
  ``BatchedInferencePipeline`` as ``whisper-ctranslate2 --batched True`` runs it (its VAD defaults, regions
  laid end to end into ≤ 30 s chunks by ``collect_chunks``); for a stereo file the peer's are those of the
  downmix, which is what the peer hears;
- CPU seconds of the model's own calls (CTranslate2's ``encode``, ``generate`` = the beam search, ``align`` = the
  word times) and of the whole recognition: ours as in a batch (one run on one replica, no lanes), and the peer's
  pipeline with the peer's model settings (``cpu_threads=0``, one replica, no word times);
- with ``--wer``: the word error rate of our words against the manifest's spoken turns (manager and client).

    python benchmarks/window_profile.py [--rhvoice heldout7] [--limit N] [--formats mono.wav,mono.mp3] [--wer]
    python benchmarks/window_profile.py --windows-only     # the VAD and packing only, no model: every file, fast
"""
from __future__ import annotations

import argparse
import math
import os
import resource
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_mono_audio import BLIND_SETS, blind_calls  # noqa: E402
from transcribe_bench import _wer  # noqa: E402

from compliance.speech import recognise as rc  # noqa: E402
from compliance.speech.decode import SAMPLE_RATE, decode_audio  # noqa: E402
from compliance.speech.engine import TranscribeOptions, load_model  # noqa: E402


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


class _Timed:
    """The CTranslate2 model with its heavy calls' process CPU summed (valid while one call runs at a time)."""

    def __init__(self, inner) -> None:
        self.inner, self.cpu = inner, {"encode": 0.0, "generate": 0.0, "align": 0.0}

    def __getattr__(self, name: str):
        attr = getattr(self.inner, name)
        if name not in self.cpu:
            return attr

        def call(*args, **kwargs):
            began = _cpu()
            try:
                return attr(*args, **kwargs)
            finally:
                self.cpu[name] += _cpu() - began
        return call


def _peer_windows(channels: list[np.ndarray]) -> list[float]:
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    mix = channels[0] if len(channels) == 1 else np.mean(channels, axis=0).astype(np.float32)
    # whisper-ctranslate2 passes an empty vad_parameters dict: VadOptions' defaults, max_speech_duration_s=30
    chunks, _ = collect_chunks(mix, get_speech_timestamps(mix, VadOptions(max_speech_duration_s=30)), max_duration=30)
    return [len(c) / SAMPLE_RATE for c in chunks]


def _our_first_windows(channels: list[np.ndarray], options: TranscribeOptions) -> list[float]:
    _heard, regions, _voices = rc.speech_heard(channels, options)
    return [sum(b - a for _, a, b in w) / SAMPLE_RATE for w in rc._windows(channels, regions, options)]


def _ours(model, channels: list[np.ndarray], options: TranscribeOptions) -> tuple[dict, list, dict[str, list[float]]]:
    """Our recognition as in a batch (no lanes): the model's CPU, the segments, each pass's windows (seconds)."""
    passes: dict[str, list[float]] = {"first": [], "gap": []}
    run = rc._decode_run

    def counted(model, channels, slots, options, **decoding):
        passes["gap" if decoding else "first"] += [sum(b - a for _, a, b in p) / SAMPLE_RATE for p in slots]
        return run(model, channels, slots, options, **decoding)

    timed, busy = _Timed(model.model), rc._busy[0]
    rc._decode_run, model.model, rc._busy[0] = counted, timed, busy + 2  # as beside another recording: one run
    began = _cpu()
    try:
        segments = rc._recognise(model, channels, options)[0]
    finally:
        rc._decode_run, model.model, rc._busy[0] = run, timed.inner, busy
    return {**timed.cpu, "total": _cpu() - began}, segments, passes


def _peer(model, channels: list[np.ndarray], language: str) -> dict:
    from faster_whisper import BatchedInferencePipeline

    mix = channels[0] if len(channels) == 1 else np.mean(channels, axis=0).astype(np.float32)
    timed = _Timed(model.model)
    model.model = timed
    began = _cpu()
    try:
        segments, _ = BatchedInferencePipeline(model).transcribe(mix, language=language, beam_size=5, vad_filter=True,
                                                                 vad_parameters={})
        list(segments)  # the generator runs the model
    finally:
        model.model = timed.inner
    return {**timed.cpu, "total": _cpu() - began}


def _show(windows: list[float]) -> str:
    return f"{len(windows)} [{', '.join(f'{w:.1f}' for w in windows)}]"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rhvoice", choices=list(BLIND_SETS), default="heldout7", help="the blind mono set to read")
    parser.add_argument("--limit", type=int, default=4, help="the first N calls (0: all)")
    parser.add_argument("--formats", default="mono.wav", help="comma-separated: mono.wav, mono.mp3, stereo.wav")
    parser.add_argument("--windows-only", action="store_true", help="windows only (no model): every call, all formats")
    parser.add_argument("--wer", action="store_true", help="also our word error rate against the spoken turns")
    args = parser.parse_args(argv)
    folder, manifest = blind_calls(args.rhvoice)
    stems = sorted({f.rsplit(".", 2)[0] for f, m in manifest.items() if m["kind"] == "call"})
    formats = ["mono.wav", "mono.mp3", "stereo.wav"] if args.windows_only else args.formats.split(",")
    stems = stems if args.windows_only or not args.limit else stems[:args.limit]
    files = [f"{s}.{fmt}" for fmt in formats for s in stems if f"{s}.{fmt}" in manifest]
    options = TranscribeOptions(language="ru")
    if args.windows_only:
        for name in files:
            channels = decode_audio(folder / name).channels
            ours = _our_first_windows(channels, options)
            print(f"{name}: ours {_show(ours)} (fewest possible {math.ceil(sum(ours) / 30)}), "
                  f"peer {_show(_peer_windows(channels))}")
        return 0
    from faster_whisper import WhisperModel

    from compliance.speech.model import assemble_default_model

    ours_model = load_model(options)
    peer_model = WhisperModel(str(assemble_default_model()), device="cpu", compute_type="int8", cpu_threads=0)
    print(f"load average {os.getloadavg()[0]:.1f}; CPU s: encode / beam search / word times / whole recognition")
    sums = {"ours": np.zeros(4), "peer": np.zeros(4)}
    refs, hyps = {}, {}
    for name in files:
        channels = decode_audio(folder / name).channels
        mine, segments, passes = _ours(ours_model, channels, options)
        theirs = _peer(peer_model, channels, "ru")
        for who, cpu in (("ours", mine), ("peer", theirs)):
            sums[who] += [cpu["encode"], cpu["generate"], cpu["align"], cpu["total"]]
        refs[name] = " ".join(t["text"] for t in sorted(manifest[name]["turns"], key=lambda t: t["start"])
                              if t["speaker"] in ("manager", "client"))
        hyps[name] = " ".join(w.word for channel in segments for s in channel for w in s.words)
        print(f"{name}: windows ours {_show(passes['first'])} + gap pass {_show(passes['gap'])}, peer "
              f"{_show(_peer_windows(channels))}; CPU ours {mine['encode']:.1f} / {mine['generate']:.1f} / "
              f"{mine['align']:.1f} / {mine['total']:.1f}, peer {theirs['encode']:.1f} / {theirs['generate']:.1f} / "
              f"{theirs['align']:.1f} / {theirs['total']:.1f}" + (f"; WER {_wer({name: refs[name]}, hyps):.1f} %"
                                                                  if args.wer else ""), flush=True)
    for who, total in sums.items():
        print(f"{who}: " + " / ".join(f"{v:.1f}" for v in total))
    ratio = sums["ours"] / np.maximum(sums["peer"], 1e-9)
    print(f"ours/peer CPU: {ratio[3]:.2f}; encode {ratio[0]:.2f}, beam search {ratio[1]:.2f}"
          + (f"; our WER {_wer(refs, hyps):.2f} %" if args.wer else "") + f"; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
