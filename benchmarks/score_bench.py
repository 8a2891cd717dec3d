"""Speed of the scoring engine on 1000 calls of 3–5 minutes (issue 2, point 10).

    python benchmarks/score_bench.py
    python benchmarks/score_bench.py --n 200 --seed 7

The calls are the labelled fixture calls padded with client talk and chatter to 450–750 words, built in memory
and deterministic for a seed (tests/fixtures/make_bench_calls.py). The script is loaded once. The naive
``partial_ratio`` baseline of benchmarks/accuracy.py is timed on the same calls, side by side. Printed: words
only; with meaning uncached (every sentence embedded) and cached; re-scoring every call after a script edit with
the sentence vectors read back from a real store (issue 8, point 8).
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


def _edited(script):
    """The script after a lead's edit: one line reworded, so every stored call must be re-scored."""
    data = script.model_dump()
    data["stages"][1]["lines"][0]["any"][0] = "Расскажите, какую задачу сейчас нужно решить вашей компании?"
    return type(script).model_validate(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of calls (default 1000)")
    parser.add_argument("--n-uncached", type=int, default=40,
                        help="calls timed with the meaning scorer and no cached embeddings (default 40)")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)

    import tempfile

    import accuracy as acc

    from compliance.history.store import Store
    from compliance.resources import default_script_path
    from compliance.scoring.embeddings import MODEL_ID, load_embedder, transcript_sentences
    from compliance.scoring.score import MatchOptions, score_call
    from compliance.scoring.script_file import load_script

    make = _load(ROOT / "tests" / "fixtures" / "make_bench_calls.py", "_make_bench_calls")
    began = time.perf_counter()
    calls = make.make_bench_calls(n=args.n, seed=args.seed)
    built = time.perf_counter() - began
    words = sorted(sum(len(s.text.split()) for s in t.segments) for t, _ in calls)
    minutes = sorted(t.duration / 60 for t, _ in calls)
    script = load_script(default_script_path())
    print(f"{len(calls)} calls built in {built:.2f} s (seed {args.seed}): words {words[0]}–{words[-1]} "
          f"(median {statistics.median(words):.0f}), {minutes[0]:.1f}–{minutes[-1]:.1f} min")
    embedder = load_embedder()
    if embedder is None:
        print("the meaning model cannot load here: timing words only")
    words_only = MatchOptions(meaning=False)
    for transcript, level in calls[:5]:
        score_call(transcript, script, level)  # warm-up: model, morphology dictionaries, script prototypes

    print(f"{'':<42} {'calls/s':>9} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'total s':>8}")
    words_t = _time_each(lambda t, lv: score_call(t, script, lv, words_only), calls)
    print(_line("words only", words_t))
    if embedder is not None:
        subset = calls[:args.n_uncached]

        def uncached(t, lv):
            embedder.forget()
            score_call(t, script, lv)

        print(_line(f"with meaning, uncached ({len(subset)} calls)", _time_each(uncached, subset)))
        for transcript, level in calls:
            score_call(transcript, script, level)
        cached_t = _time_each(lambda t, lv: score_call(t, script, lv), calls)
        print(_line("with meaning, cached", cached_t))
        print(f"median per call, meaning cached / words only: "
              f"{statistics.median(cached_t) / statistics.median(words_t):.1f}x")

        # Re-scoring the history after a script edit: every call's vectors come from the store.
        with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
            texts = [transcript_sentences(t.segments) for t, _ in calls]
            store.save_embeddings(MODEL_ID, embedder.known([x for group in texts for x in group]))
            edited = _edited(script)
            embedder.forget()
            began = time.perf_counter()
            for (transcript, level), sentences in zip(calls, texts):
                embedder.remember(store.load_embeddings(MODEL_ID, sentences))
                score_call(transcript, edited, level)
            took = time.perf_counter() - began
        print(f"re-scoring {len(calls)} stored calls after a script edit (vectors from the store): {took:.1f} s "
              f"(goal < 30 s for 1000)")
    baseline = _time_each(lambda t, lv: acc.baseline_stage_scores(t, script), calls)
    print(_line("baseline partial_ratio", baseline))
    return 0


if __name__ == "__main__":
    sys.exit(main())
