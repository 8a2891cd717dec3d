"""How long the light commands take to start, next to a bare interpreter, and next to an older commit (issue 26).

    python benchmarks/startup_bench.py                    # this checkout
    python benchmarks/startup_bench.py --before 84f811d   # and that commit, side by side, in the same run

Each command runs ``--runs`` times (default 7) in a fresh interpreter on a small history (the review tests'
sample calls); the median and the fastest are printed, with ``python -c pass`` as the floor and the machine's
load (``uptime``) before and after. The compiled bytecode is written and used (a warm-up run first), as an
installed package has it, whatever PYTHONDONTWRITEBYTECODE says. ``--before`` exports that commit with
``git archive`` into a temporary folder and runs it from there with the same interpreter and packages.
The machine is shared: wall times swing with its load, so each run's CPU time (user + system) is printed too.
Target: every light command under 0.3 s on an idle machine.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

COMMANDS: list[tuple[str, list[str]]] = [
    ("compliance --help", ["--help"]),
    ("compliance analyze --help", ["analyze", "--help"]),
    ("daily ivanova --date …", ["daily", "ivanova", "--date", "2026-11-27", "--db", "{db}"]),
    ("export", ["export", "--db", "{db}"]),
    ("export --by week", ["export", "--by", "week", "--db", "{db}"]),
    ("readiness", ["readiness", "--db", "{db}"]),
    ("users list", ["users", "list", "--db", "{db}"]),
]
BUILD = "import sys; from pathlib import Path; from tests.review_helpers import build_history; build_history(Path(sys.argv[1]))"
RUN = "import sys; from compliance.cli import cli; cli(sys.argv[1:], prog_name='compliance')"


def _env(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(tree)   # ahead of the editable install: the tree under test is the one imported
    return env


def _time(argv: list[str], tree: Path, runs: int) -> list[tuple[float, float]]:
    """(wall, CPU) seconds of each run; CPU time (user + system) is what a shared machine's load hides least."""
    times = []
    for _ in range(runs + 1):   # the first run writes the bytecode and warms the file cache: not counted
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        run = subprocess.run(argv, cwd=tree, env=_env(tree), capture_output=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        times.append((wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime))
        if run.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed in {tree}: {run.stderr.decode()[-500:]}")
    return times[1:]


def _export(rev: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def _bench(tree: Path, work: Path, runs: int) -> dict[str, list[tuple[float, float]]]:
    db = work / "history.db"
    subprocess.run([sys.executable, "-c", BUILD, str(db)], cwd=tree, env=_env(tree), check=True, capture_output=True)
    out = {"python -c pass": _time([sys.executable, "-c", "pass"], tree, runs)}
    for name, args in COMMANDS:
        out[name] = _time([sys.executable, "-c", RUN, *(a.format(db=db) for a in args)], tree, runs)
    return out


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=None, help="A commit to time side by side (git archive).")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(f"load before: {_uptime()}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"now": ROOT}
        if args.before:
            (Path(tmp) / "before").mkdir()
            trees[args.before] = _export(args.before, Path(tmp) / "before")
        results = {}
        for label, tree in trees.items():
            work = Path(tmp) / f"work-{label}"
            work.mkdir()
            results[label] = _bench(tree, work, args.runs)
    print(f"load after:  {_uptime()}")
    labels = list(results)
    print("\nMedian of each run's wall time (its CPU time, user + system); the last column: the older commit's "
          "median over this checkout's (wall, CPU).")
    head = "".join(f" | {label}: wall (CPU)" for label in labels)
    ratio = " | before / now" if len(labels) == 2 else ""
    print(f"\n| command{head}{ratio} |")
    print("|---" * (1 + len(labels) + (1 if ratio else 0)) + "|")
    for name in results["now"]:
        med = {label: (statistics.median(w for w, _ in results[label][name]),
                       statistics.median(c for _, c in results[label][name])) for label in labels}
        cells = "".join(f" | {med[label][0]:.3f} s ({med[label][1]:.3f} s)" for label in labels)
        extra = ""
        if ratio:
            old, now = med[labels[1]], med["now"]
            extra = f" | {old[0] / now[0]:.1f}× ({old[1] / now[1]:.1f}×)"
        print(f"| {name}{cells}{extra} |")

if __name__ == "__main__":
    main()
