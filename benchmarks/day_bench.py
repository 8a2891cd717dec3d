"""A manager's day end to end (issue 26, point 2): 40 calls of about 3 minutes through ``compliance batch``.

    python benchmarks/day_bench.py                 # 40 calls, ~3 min each
    python benchmarks/day_bench.py --calls 10      # a shorter day, the same kind of calls

Each call is two or more of the spoken development calls (``make_bench_audio.py``, both sets, stereo, festival)
played one after the other and cut at 3 minutes: a different pair for every call, so no two files share
content (the batch would take a copy for a duplicate). They are laid out as a recorder writes them
(``DATE/MANAGER/`` with telephony names) and scored end to end from the command line: interpreter start, both
models' loads, transcription with the parties apart, scoring, the history and the HTML reports, a fresh transcript
cache and database. Printed: audio and wall seconds, audio seconds per wall second (target: the day in under a
tenth of its audio time, ≥ 10×) and the load (``uptime``) before and after: on a shared machine, say it.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transcribe_bench as tb  # noqa: E402  (the recorder's day layout)
from small_sets_bench import _spoken_calls  # noqa: E402  (the spoken calls, made on first use)

CLI = [sys.executable, "-c", "from compliance.cli import main; main()"]
RATE = 16000



def make_day(folder: Path, count: int, minutes: float = 3.0) -> tuple[list[Path], float]:
    """``count`` stereo calls of about ``minutes`` each under ``folder`` (recorder layout); files and audio seconds."""
    from compliance.speech.decode import decode_audio

    sources = [path for path, _ in _spoken_calls()]
    decoded = [np.stack(decode_audio(p).channels) for p in sources]
    calls: list[tuple[Path, dict]] = []
    raw = folder.parent / "calls"
    raw.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        parts, length, k = [], 0, 0
        while length < minutes * 60 * RATE:   # call i, then the (i+1+step)-th after it, …: a pair per call
            part = decoded[(i + k * (1 + i // len(sources))) % len(sources)]
            parts.append(part)
            length += part.shape[1]
            k += 1
        audio = np.concatenate(parts, axis=1)[:, :int(minutes * 60 * RATE)]   # cut at the call's length
        target = raw / f"call{i:02d}.stereo.wav"
        with wave.open(str(target), "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").T.tobytes())
        calls.append((target, {"duration": audio.shape[1] / RATE, "turns": []}))
    files, _turns, seconds = tb.recorder_day(folder, calls, suffix=lambda source: ".stereo.wav")
    return files, seconds


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=40, help="calls in the day (default 40)")
    parser.add_argument("--minutes", type=float, default=3.0, help="length of each call (default 3)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="day-bench-") as tmp_name:
        tmp = Path(tmp_name)
        files, seconds = make_day(tmp / "day", args.calls, args.minutes)
        print(f"{len(files)} stereo calls, {seconds:.0f} s ({seconds / 60:.1f} min) of audio; load average before:"
              f"{_uptime()}")
        began = time.perf_counter()
        out = subprocess.run([*CLI, "batch", str(tmp / "day"), "--db", str(tmp / "day.db"), "--cache-dir",
                              str(tmp / "cache"), "--out", str(tmp / "reports"), "--json"],
                             capture_output=True, text=True, check=False)
        wall = time.perf_counter() - began
        if out.returncode not in (0, 3):
            raise SystemExit(f"compliance batch failed ({out.returncode}):\n{out.stderr[-3000:]}")
        print(f"compliance batch: {wall:.1f} s wall, {seconds / wall:.1f}× real time (target ≥ 10×: the day in under "
              f"a tenth of its audio time); load average after:{_uptime()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
