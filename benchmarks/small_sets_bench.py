"""Small sets, side by side in one run (issue 26, point 2): 1, 3 and ~20 stereo calls, from the command line.

    python benchmarks/small_sets_bench.py                     # sizes 1, 3, 20; each pipeline once
    python benchmarks/small_sets_bench.py --sizes 1,3 --repeat 2

For each size the same files go through, one after the other (alternating when repeated, the fastest run
counts, since other load only slows a run down):

* peer: ``whisper-ctranslate2 --batched True`` (the tool a user would otherwise pick; one mixed channel);
* plain: a plain faster-whisper loop in one process (``WhisperModel`` + ``model.transcribe(file)`` per file,
  faster-whisper's defaults: the downmix, beam 5, sequential), as ``transcribe_bench.py --plain`` runs it;
* ours: ``compliance analyze FILES`` and ``compliance batch DAY`` (parties apart, every call scored; the batch
  also stores them), a fresh transcript cache and database each run;
* ``--before COMMIT``: also ``compliance analyze`` from that commit's tree (``git archive``), same interpreter.

With ``--repeat`` the medians are printed beside the fastest runs (on a shared machine the load moves between
rounds; the rounds alternate the pipelines, so each median meets the same conditions).

Every pipeline is timed as a whole command: interpreter start and model loads included, the same model folder
(Whisper base, int8, CPU). The calls are the development transcripts spoken by ``make_bench_audio.py`` (both
sets, 22 stereo calls), manager left, client right. The meaning model's cache of the script's phrasings is warm
(one untimed run first), as it is on any machine after its first run; transcripts are never cached.
Printed: wall seconds, audio seconds per wall second, the ratios peer/ours and plain/ours (targets: ≥ 1.1× the
peer at every size, ≥ 1.5× the plain loop on the day-sized set), the WER of all speech and of the manager's words
(ours from the manager's channel, the others by aligning their mixed transcript), and the load (``uptime``).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

import transcribe_bench as tb  # noqa: E402  (its peer, plain loop and WER helpers)

CLI = [sys.executable, "-c", "from compliance.cli import main; main()"]


def _spoken_calls() -> list[tuple[Path, dict]]:
    spec = importlib.util.spec_from_file_location("_make_bench_audio", ROOT / "benchmarks" / "make_bench_audio.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = []
    for check in (False, True):
        folder, calls = module.bench_calls(check=check)
        out += [(folder / name, meta) for name, meta in calls.items()]
    return out


def _fixture_calls(n: int, folder: Path) -> list[tuple[Path, dict]]:
    """Without festival: the two stereo fixture calls, alternating, each copy a few ms later (its own content,
    so the batch does not take it for a duplicate), as batch_bench.py builds its day."""
    import batch_bench

    from compliance.speech.decode import decode_audio

    folder.mkdir(parents=True, exist_ok=True)
    names = ["call_full.stereo.ogg", "call_missing.stereo.ogg"]
    decoded = {name: decode_audio(tb.AUDIO / name) for name in names}
    out = []
    for i in range(n):
        name, pad = names[i % 2], 5 * (i // 2)
        target = folder / f"{i:02d}.{name.split('.')[0]}.wav"
        batch_bench._write_wav(target, decoded[name].channels, decoded[name].sample_rate, pad)
        out.append((target, {"duration": decoded[name].duration + pad / 1000, "turns": tb.MANIFEST[name]["turns"]}))
    return out


def _day(folder: Path, calls: list[tuple[Path, dict]]) -> tuple[list[Path], dict[str, list[dict]], float]:
    """The calls named as a recorder names them under ``folder/DATE/MANAGER/`` (each marked stereo)."""
    return tb.recorder_day(folder, calls, suffix=lambda source: ".stereo" + source.suffix)


def _timed(cmd: list[str], env: dict | None = None, cwd: Path | None = None) -> tuple[float, str]:
    began = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    took = time.perf_counter() - began
    if out.returncode not in (0, 1, 3):   # 1: analyze/batch found a call it could not score; still timed
        raise SystemExit(f"{' '.join(cmd[:4])} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return took, out.stdout


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1]


def _pipelines(tmp: Path, files: list[Path], model: str, k: int,
               before: Path | None = None) -> dict[str, tuple[float, str]]:
    names = [str(f) for f in files]
    peer_out = tmp / f"peer{k}"
    older = {}
    if before is not None:   # the same command from an older commit's tree (git archive), same interpreter
        env = {**os.environ, "PYTHONPATH": str(before)}
        older["analyze before"] = _timed([*CLI, "analyze", *names, "--json", "--cache-dir", str(tmp / f"old{k}")],
                                         env, cwd=before)   # `python -c` puts the working folder first
    return {**older,
        "peer": _timed([*tb._peer_command(), *names, "--model_directory", model, "--device", "cpu",
                        "--compute_type", "int8", "--batched", "True", "--language", "ru", "--output_format",
                        "json", "--output_dir", str(peer_out), "--verbose", "False"]),
        "plain": _timed([sys.executable, tb.__file__, "--worker", "plain", "--settings", "{}", *names]),
        "analyze": _timed([*CLI, "analyze", *names, "--json", "--cache-dir", str(tmp / f"acache{k}")]),
        "batch": _timed([*CLI, "batch", str(tmp / "day"), "--db", str(tmp / f"ours{k}.db"), "--cache-dir",
                         str(tmp / f"bcache{k}"), "--json", "--out", str(tmp / f"reports{k}")]),
    }


def run_size(calls: list[tuple[Path, dict]], model: str, repeat: int, before: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="small-sets-") as tmp_name:
        tmp = Path(tmp_name)
        files, turns, seconds = _day(tmp / "day", calls)
        runs: dict[str, list[float]] = {}
        loads = [_uptime()]
        outputs: dict[str, str] = {}
        for k in range(repeat):
            for name, (took, out) in _pipelines(tmp, files, model, k, before).items():
                runs.setdefault(name, []).append(took)
                outputs.setdefault(name, out)
            loads.append(_uptime())
        said = {f: sorted(t, key=lambda t: t["start"]) for f, t in turns.items()}
        refs_all = {f: " ".join(t["text"] for t in ts) for f, ts in said.items()}
        refs_manager = {f: " ".join(t["text"] for t in ts if t["speaker"] == "manager") for f, ts in said.items()}
        peer_texts = tb._peer_texts(tmp / "peer0", files)
        plain_texts = json.loads(outputs["plain"].strip().splitlines()[-1])["texts"]
        ours_all, ours_manager = tb._our_texts(tmp / "ours0.db")
        wer = {"peer": (tb._wer(refs_all, peer_texts), tb._speaker_wer(said, peer_texts, "manager")),
               "plain": (tb._wer(refs_all, plain_texts), tb._speaker_wer(said, plain_texts, "manager")),
               "batch": (tb._wer(refs_all, ours_all), tb._wer(refs_manager, ours_manager))}
        return {"calls": len(files), "seconds": seconds, "best": {n: min(t) for n, t in runs.items()},
                "median": {n: statistics.median(t) for n, t in runs.items()},
                "runs": runs, "wer": wer, "load": loads}


def _warm(model: str, calls: list[tuple[Path, dict]]) -> None:
    """One untimed analyze: the model folder, the page cache and the phrasings' vector cache are warm."""
    with tempfile.TemporaryDirectory() as tmp:
        _timed([*CLI, "analyze", str(calls[0][0]), "--json", "--cache-dir", tmp])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,3,20", help="calls per set (default 1,3,20; at most 22)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each pipeline (fastest and median shown)")
    parser.add_argument("--before", default=None, help="also time `compliance analyze` of this commit (git archive)")
    parser.add_argument("--source", choices=["spoken", "fixtures"], default="spoken",
                        help="spoken: make_bench_audio.py's 22 calls (festival); fixtures: the two stereo fixture "
                             "calls (74 s and 34 s), distinct copies")
    args = parser.parse_args(argv)
    from compliance.speech.model import assemble_default_model

    model = str(assemble_default_model())
    sizes = [int(s) for s in args.sizes.split(",")]
    tmp = tempfile.TemporaryDirectory(prefix="small-sets-src-")
    calls = _spoken_calls() if args.source == "spoken" else _fixture_calls(max(sizes), Path(tmp.name))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"{len(calls)} stereo calls ({args.source}); {cores} cores; load average before:{_uptime()}")
    _warm(model, calls)
    before = None
    if args.before:
        before = Path(tmp.name) / "before"
        before.mkdir()
        archive = subprocess.run(["git", "archive", args.before], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive, check=True)
    rows = []
    for size in sizes:
        res = run_size(calls[:size], model, args.repeat, before)
        rows.append(res)
        best, med, s = res["best"], res["median"], res["seconds"]
        print(f"\n{res['calls']} calls, {s:.0f} s of audio; load average per round:"
              f"{' →'.join(res['load'])}")
        print("| pipeline | wall s | audio s/s | WER all | WER manager | peer / this | plain / this "
              "| median wall s | peer / this, medians | plain / this, medians |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for name in [n for n in ("peer", "plain", "analyze before", "analyze", "batch") if n in best]:
            w = res["wer"].get(name)
            wer = f"{w[0]:.1f} % | {w[1]:.1f} %" if w else "(as batch) | (as batch)"
            print(f"| {name} | {best[name]:.1f} | {s / best[name]:.1f}× | {wer} | "
                  f"{best['peer'] / best[name]:.2f}× | {best['plain'] / best[name]:.2f}× | {med[name]:.1f} | "
                  f"{med['peer'] / med[name]:.2f}× | {med['plain'] / med[name]:.2f}× |")
    print("\nruns (s): " + "; ".join(f"{r['calls']} calls: " + ", ".join(
        f"{n} {'/'.join(f'{t:.1f}' for t in ts)}" for n, ts in r["runs"].items()) for r in rows))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
