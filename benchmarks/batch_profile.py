"""Where a ``compliance batch`` spends its time: each step's wall seconds per file, and the cores' use over the run.

Runs one batch in this process (the CLI's own ``main``, a fresh database and transcript cache) with timers around
its steps: planning, the models' loads, the phrasings' vectors, and per recording its hash, decoding, voice
detection, recognition (first pass, the gap pass, cleaning), diarization, the parties and talk, scoring, the
call's sentence vectors and the database save. A sampler reads the process's threads' CPU time from /proc every
0.25 s, so the printout also says how much of the two cores the batch used in each tenth of its run (the idle
cores at its tail) and which threads used them.

    python benchmarks/batch_profile.py FILE_OR_FOLDER... [--workers N]

The files are copied into a day folder as a recorder writes it (one day, three managers), as ``mono_bench --speed``
does. The interpreter's start and imports are timed apart (``python -c 'import compliance.cli'``).
"""
from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_LOG: list[tuple[str, str, float, float]] = []          # (step, file, start, end) since the run began
_T0 = [0.0]
_LOCAL = threading.local()
_TICK = os.sysconf("SC_CLK_TCK")


def _timed(step: str, fn, file_arg: int | None = 0):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            file = getattr(_LOCAL, "file", "")
            if file_arg is not None and len(args) > file_arg and isinstance(args[file_arg], (str, Path)):
                file = Path(args[file_arg]).name
            _LOG.append((step, file, began - _T0[0], time.perf_counter() - _T0[0]))
    return wrapper


def _install() -> None:
    from compliance.batch import execute, run, workers
    from compliance.scoring import embeddings
    from compliance.speech import recognise, transcribe

    def work(fn):
        @functools.wraps(fn)
        def wrapper(task):
            _LOCAL.file = Path(task.path).name
            return _timed("file (all steps)", fn, None)(task)
        return wrapper

    workers._work = work(workers._work)
    execute._work = workers._work
    execute._setup = _timed("models loaded (setup)", execute._setup, None)
    embeddings.load_embedder = _timed("meaning model load", embeddings.load_embedder, None)
    run._Run._plan = _timed("plan (hash, probe, history)", run._Run._plan, None)
    run._Run._save = _timed("db save", run._Run._save, None)
    execute._Executes._phrasing_vectors = _timed("script phrasings' vectors", execute._Executes._phrasing_vectors, None)
    transcribe.audio_hash = _timed("audio hash", transcribe.audio_hash)
    transcribe.decode_audio = _timed("decode audio", transcribe.decode_audio)
    transcribe.diarize_channel = _timed("diarize", transcribe.diarize_channel, None)
    transcribe.assemble_transcript = _timed("parties, roles, talk", transcribe.assemble_transcript, None)
    transcribe._write_cache = _timed("transcript cache write", transcribe._write_cache, None)
    recognise.speech_heard = _timed("VAD (speech heard)", recognise.speech_heard, None)
    recognise._decode_batched = _timed("recognise: first pass", recognise._decode_batched, None)
    recognise._fill_gaps_batched = _timed("recognise: gap pass", recognise._fill_gaps_batched, None)
    recognise._clean = _timed("recognise: clean, levels", recognise._clean, None)
    recognise.measure_channel = _timed("recognise: channel quality", recognise.measure_channel, None)
    import compliance.pipeline as pipeline
    pipeline.score_call = _timed("score", pipeline.score_call, None)
    workers._call_vectors = _timed("call sentence vectors", workers._call_vectors, None)


def _cpu_by_thread() -> dict[str, float]:
    out: dict[str, float] = collections.defaultdict(float)
    for tid in os.listdir("/proc/self/task"):
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[f"{name}:{tid}"] += (int(fields[11]) + int(fields[12])) / _TICK
    return out


def _sampler(stop: threading.Event, samples: list[tuple[float, dict[str, float]]]) -> None:
    while not stop.is_set():
        samples.append((time.perf_counter() - _T0[0], _cpu_by_thread()))
        stop.wait(0.25)


def _day(files: list[Path], tmp: Path) -> Path:
    day = tmp / "day"
    for i, source in enumerate(files):
        manager = ("ivanova", "petrov", "sidorova")[i % 3]
        target = day / "2026-11-27" / manager / (f"2026-11-27_{9 + i // 4:02d}-{(i * 7) % 60:02d}-00_{manager}_"
                                                  f"38099{1000000 + i:07d}{''.join(source.suffixes)}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return day


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args(argv)
    files = sorted(p for a in args.paths for p in ([a] if a.is_file() else a.iterdir()) if p.is_file())
    began = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import compliance.cli; from compliance.cli import main"], check=True)
    print(f"interpreter start + CLI imports: {time.perf_counter() - began:.2f} s wall")
    _install()
    from compliance.cli import cli

    with tempfile.TemporaryDirectory(prefix="batch-profile-") as tmp_name:
        tmp = Path(tmp_name)
        day = _day(files, tmp)
        argv_cli = ["batch", str(day), "--db", str(tmp / "h.db"), "--cache-dir", str(tmp / "cache"), "--json"]
        if args.workers:
            argv_cli += ["--workers", str(args.workers)]
        samples: list[tuple[float, dict[str, float]]] = []
        stop = threading.Event()
        _T0[0] = time.perf_counter()
        cpu0 = os.times()
        sampler = threading.Thread(target=_sampler, args=(stop, samples), daemon=True)
        sampler.start()
        try:
            cli(argv_cli, prog_name="compliance", standalone_mode=False)
        except SystemExit:
            pass
        wall = time.perf_counter() - _T0[0]
        cpu1 = os.times()
        stop.set()
        sampler.join()
    _report(wall, (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system), samples)
    return 0


def _report(wall: float, cpu: float, samples: list[tuple[float, dict[str, float]]]) -> None:
    cores = len(os.sched_getaffinity(0))
    print(f"\nbatch in-process: {wall:.1f} s wall, {cpu:.1f} CPU s ({cpu / wall:.2f} of {cores} cores); "
          f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    steps: dict[str, list[float]] = collections.defaultdict(list)
    for step, _file, a, b in _LOG:
        steps[step].append(b - a)
    print(f"{'step':<32} {'n':>3} {'sum s':>7} {'mean s':>7} {'max s':>7}", file=sys.stderr)
    for step, took in sorted(steps.items(), key=lambda kv: -sum(kv[1])):
        print(f"{step:<32} {len(took):3d} {sum(took):7.2f} {sum(took) / len(took):7.2f} {max(took):7.2f}",
              file=sys.stderr)
    print("\nper file (start → end, s since the batch began):", file=sys.stderr)
    for step, file, a, b in sorted(_LOG, key=lambda r: r[2]):
        if step == "file (all steps)":
            print(f"  {file:<60} {a:6.1f} → {b:6.1f} ({b - a:5.1f})", file=sys.stderr)
    print("\ncores used, by tenth of the run:", file=sys.stderr)
    for k in range(10):
        lo, hi = wall * k / 10, wall * (k + 1) / 10
        inside = [s for s in samples if lo <= s[0] <= hi]
        if len(inside) < 2:
            continue
        used = sum(inside[-1][1].values()) - sum(inside[0][1].values())
        print(f"  {lo:6.1f}–{hi:6.1f} s: {used / (inside[-1][0] - inside[0][0]):4.2f}", file=sys.stderr)
    first, last = samples[0][1], samples[-1][1]
    by_name: dict[str, float] = collections.defaultdict(float)
    for key, value in last.items():
        by_name[key.split(":")[0]] += value - first.get(key, 0.0)
    print("CPU s by thread name: " + ", ".join(f"{n} {v:.1f}" for n, v in sorted(by_name.items(), key=lambda kv: -kv[1])
                                               if v >= 0.05), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
