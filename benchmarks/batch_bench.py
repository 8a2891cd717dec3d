"""Batch mode speed (issue 4, point 11), all figures from one run.

    python benchmarks/batch_bench.py
    python benchmarks/batch_bench.py --n 40 --rescore-calls 1000 --workers 2
    python benchmarks/batch_bench.py --cluster local:2 --rescore-calls 0   # also on a local Dask cluster

1. A day folder of ``--n`` recordings (default 20) is built in a temp dir from the audio fixtures: the first
   copy of each fixture as is, the others re-written as WAV with a few ms of leading silence, so every file
   has its own content hash (identical copies would be skipped as duplicates). Layout DATE/MANAGER/,
   telephony names.
2. ``compliance batch`` on it (a fresh database and transcript cache), timed from the command line, next to
   a plain sequential loop of faster-whisper over the same files (the same model, int8, all cores, one pass
   per file on the downmix, default decoding options). Throughput in audio minutes per minute, and the ratio.
3. The same ``compliance batch`` again: everything is cached; its time must be < 5 % of the first run.
   The peak memory (RSS) of the largest worker process and of the main process is printed too.
4. ``--rescore-calls`` stored calls (default 1000; 3–5 minute transcripts from
   tests/fixtures/make_bench_calls.py) are batched once, the script is edited, and the batch re-scores them
   all from the database; that must take < 30 s.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "tests" / "fixtures" / "audio"
SOURCES = ["call_full.stereo.ogg", "call_missing.stereo.ogg", "call_full.mono.mp3", "voicemail.stereo.ogg"]
MANAGERS = ["ivanova", "petrov", "sidorova", "kovalenko", "melnyk"]
DATE = "2026-11-27"


def _write_wav(path: Path, channels: list[np.ndarray], rate: int, pad_ms: int) -> None:
    pad = np.zeros(rate * pad_ms // 1000, dtype=np.float32)
    data = np.stack([np.concatenate([pad, c]) for c in channels], axis=1)
    pcm = (np.clip(data, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def build_day(root: Path, n: int) -> tuple[list[Path], float]:
    """``n`` distinct recordings in ``root/DATE/MANAGER/``; returns the files and their total seconds."""
    from compliance.speech.decode import decode_audio

    decoded = {}
    files, seconds = [], 0.0
    for i in range(n):
        source = AUDIO / SOURCES[i % len(SOURCES)]
        manager = MANAGERS[i % len(MANAGERS)]
        folder = root / DATE / manager
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{DATE}_{9 + i // 6:02d}-{(i * 7) % 60:02d}-{(i * 13) % 60:02d}_{manager}_38099{1000000 + i:07d}"
        if i < len(SOURCES):
            target = folder / f"{stem}{source.suffix}"
            shutil.copy(source, target)
            audio = decoded.setdefault(source, decode_audio(source))
            pad = 0
        else:
            audio = decoded.setdefault(source, decode_audio(source))
            pad = 5 * (i // len(SOURCES))
            target = folder / f"{stem}.wav"
            _write_wav(target, audio.channels, audio.sample_rate, pad)
        files.append(target)
        seconds += audio.duration + pad / 1000
    return files, seconds


PEAK: dict[str, float] = {}  # MB: the last _cli run's main process and its largest worker


def _cli(*args: str, env: dict | None = None) -> tuple[float, dict]:
    """Run ``compliance ARGS --json``; the peak memory (RSS, sampled every 0.1 s) of the main process and
    of each worker process goes to ``PEAK``."""
    import psutil

    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", "from compliance.cli import main; main()", *args, "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    main_peak, worker_peak = 0, 0
    watched = psutil.Process(proc.pid)
    out: list[str] = []
    import threading

    reader = threading.Thread(target=lambda: out.extend(proc.communicate()), daemon=True)
    reader.start()
    while reader.is_alive():
        try:
            main_peak = max(main_peak, watched.memory_info().rss)
            for child in watched.children(recursive=True):
                worker_peak = max(worker_peak, child.memory_info().rss)
        except psutil.Error:
            pass
        reader.join(0.1)
    took = time.perf_counter() - began
    PEAK.update(main=main_peak / 2**20, worker=worker_peak / 2**20)
    if proc.returncode not in (0, 3):
        sys.exit(f"compliance {' '.join(args)} failed ({proc.returncode}):\n{out[1][-3000:]}")
    return took, json.loads(out[0])


def plain_faster_whisper(files: list[Path]) -> float:
    """The baseline: one WhisperModel, a plain loop, segments consumed (transcription happens then)."""
    from faster_whisper import WhisperModel

    from compliance.speech.model import assemble_default_model

    began = time.perf_counter()
    model = WhisperModel(str(assemble_default_model()), device="cpu", compute_type="int8",
                         cpu_threads=os.cpu_count() or 1)
    for path in files:
        segments, _info = model.transcribe(str(path), language="ru")
        for _ in segments:
            pass
    return time.perf_counter() - began


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def rescore_bench(tmp: Path, n: int, env: dict) -> tuple[float, float, dict]:
    make = _load(ROOT / "tests" / "fixtures" / "make_bench_calls.py", "_make_bench_calls")
    folder = tmp / "stored"
    for i, (transcript, _level) in enumerate(make.make_bench_calls(n=n)):
        manager = MANAGERS[i % len(MANAGERS)]
        path = folder / DATE / manager / f"call_{i:04d}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(transcript.model_dump_json(), encoding="utf-8")
    script = tmp / "script.yaml"
    shutil.copy(ROOT / "scripts_yaml" / "sales_call.ru.yaml", script)
    db = str(tmp / "stored.db")
    first, _ = _cli("batch", str(folder), "--db", db, "--script", str(script), env=env)
    text = script.read_text("utf-8").replace("Какие сроки для вас важны?", "К какому сроку вам нужен результат?")
    script.write_text(text, encoding="utf-8")
    again, summary = _cli("batch", str(folder), "--db", db, "--script", str(script), env=env)
    return first, again, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20, help="recordings in the day folder (default 20)")
    parser.add_argument("--workers", type=int, default=None, help="compliance batch --workers (default: cores)")
    parser.add_argument("--rescore-calls", type=int, default=1000, help="stored calls to re-score (default 1000)")
    parser.add_argument("--cluster", default=None, help="also time compliance batch --cluster SPEC (e.g. local:2)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not time plain faster-whisper")
    args = parser.parse_args(argv)

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = dict(os.environ)
        files, seconds = build_day(tmp / "day", args.n)
        minutes = seconds / 60
        print(f"{len(files)} recordings, {minutes:.1f} min of audio, {cores} cores")
        workers = ["--workers", str(args.workers)] if args.workers else []
        workers += ["--cache-dir", str(tmp / "transcripts")]  # a cold transcript cache
        db = str(tmp / "h.db")

        first, summary = _cli("batch", str(tmp / "day"), "--db", db, *workers, env=env)
        print(f"compliance batch, first run:        {first:7.1f} s  {minutes / (first / 60):5.1f} audio min/min "
              f"(analysed {summary['analysed']}, failed {summary['failed']}, "
              f"not connected {summary['not_connected']})")
        verdict = "ok" if PEAK["worker"] <= 1300 else "TOO BIG"
        print(f"  peak memory: largest worker {PEAK['worker']:.0f} MB (must be <= 1300 MB: {verdict}), "
              f"main process {PEAK['main']:.0f} MB")
        if not args.skip_baseline:
            plain = plain_faster_whisper(files)
            print(f"plain faster-whisper, sequential:   {plain:7.1f} s  {minutes / (plain / 60):5.1f} audio min/min")
            print(f"  ratio sequential / batch: {plain / first:.2f}x "
                  "(batch: one pass per channel of stereo calls, VAD, scoring and storing included)")
        if args.cluster:
            on, csum = _cli("batch", str(tmp / "day"), "--db", str(tmp / "cluster.db"), "--cluster", args.cluster,
                            "--cache-dir", str(tmp / "transcripts-cluster"), env=env)
            print(f"compliance batch --cluster {args.cluster}: {on:7.1f} s  {minutes / (on / 60):5.1f} audio min/min "
                  f"(analysed {csum['analysed']}, failed {csum['failed']}); largest worker {PEAK['worker']:.0f} MB")
        second, summary2 = _cli("batch", str(tmp / "day"), "--db", db, *workers, env=env)
        share = 100 * second / first
        verdict = "ok" if share < 5 else "TOO SLOW"
        print(f"compliance batch, all cached:       {second:7.2f} s  = {share:.1f} % of the first run "
              f"(skipped {summary2['skipped']}, analysed {summary2['analysed']}, re-scored {summary2['rescored']}; "
              f"must be < 5 %: {verdict})")

        if args.rescore_calls:
            scored, rescored, summary3 = rescore_bench(tmp, args.rescore_calls, env)
            verdict = "ok" if rescored < 30 else "TOO SLOW"
            print(f"{args.rescore_calls} transcripts (3–5 min calls), first batch: {scored:7.1f} s")
            print(f"re-score {summary3['rescored']} stored calls after a script edit: {rescored:7.1f} s "
                  f"(must be < 30 s: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
