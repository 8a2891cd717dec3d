"""Speed of the scoring engine on 1000 calls of 3–5 minutes (issue 2, point 10).

    python benchmarks/score_bench.py
    python benchmarks/score_bench.py --n 200 --seed 7 --matcher compliance.match:score_call

The calls are the labelled fixture calls padded with client talk and chatter to 450–750 words, built in memory
and deterministic for a seed (tests/fixtures/make_bench_calls.py). The script is loaded once. The naive
``partial_ratio`` baseline of tests/test_accuracy.py is timed on the same calls, side by side.
"""
from __future__ import annotations

import argparse
import gc
import importlib.util
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _time_each(fn: Callable[[object, str], object], calls: list) -> list[float]:
    times = []
    gc.collect()
    for transcript, level in calls:
        began = time.perf_counter()
        fn(transcript, level)
        times.append(time.perf_counter() - began)
    return times


def _p(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(round(q * (len(sorted_values) - 1))))]


def _line(label: str, times: list[float]) -> str:
    s = sorted(times)
    total = sum(times)
    return (f"{label:<34} {len(times) / total:>9.1f} {statistics.median(s) * 1000:>10.2f} "
            f"{_p(s, 0.95) * 1000:>8.2f} {s[-1] * 1000:>8.2f} {total:>8.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of calls (default 1000)")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--matcher", default="compliance.match:score_call", help="module:function to time")
    args = parser.parse_args(argv)

    from compliance.resources import default_script_path
    from compliance.script import load_script

    make = _load(ROOT / "tests" / "fixtures" / "make_bench_calls.py", "_make_bench_calls")
    acc = _load(ROOT / "tests" / "test_accuracy.py", "_accuracy_metrics")

    began = time.perf_counter()
    calls = make.make_bench_calls(n=args.n, seed=args.seed)
    built = time.perf_counter() - began
    words = sorted(sum(len(s.text.split()) for s in t.segments) for t, _ in calls)
    minutes = sorted(t.duration / 60 for t, _ in calls)
    turns = sorted(len(t.segments) for t, _ in calls)
    script = load_script(default_script_path())
    print(f"{len(calls)} calls built in {built:.2f} s (seed {args.seed}): words {words[0]}–{words[-1]} "
          f"(median {statistics.median(words):.0f}), {minutes[0]:.1f}–{minutes[-1]:.1f} min, "
          f"turns {turns[0]}–{turns[-1]}")

    try:
        score = acc.load_scorer(args.matcher)
    except (ImportError, AttributeError) as exc:
        score = None
        print(f"matcher {args.matcher} not importable ({exc}); timing the baseline only")

    head = f"{'':<34} {'calls/s':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'total s':>8}"
    print(head)
    results = {}
    if score is not None:
        for transcript, level in calls[:5]:
            score(transcript, script, level)  # warm-up: lazy caches, morphology dictionaries
        results[args.matcher] = _time_each(lambda t, lv: score(t, script, lv), calls)
        print(_line(args.matcher, results[args.matcher]))
    results["baseline partial_ratio"] = _time_each(lambda t, lv: acc.baseline_stage_scores(t, script), calls)
    print(_line("baseline partial_ratio", results["baseline partial_ratio"]))
    if score is not None:
        ratio = statistics.median(results[args.matcher]) / statistics.median(results["baseline partial_ratio"])
        print(f"median time per call, matcher / baseline: {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
