"""How long the HTML reports take: 1000 calls of 20 managers (target: under 10 s).

Run: python benchmarks/report_bench.py [--calls 1000] [--managers 20] [--repeat 3]

Prints the time of each step side by side (building the calls is setup, not measured in the total):
view data only, view data + rendering, and the full atomic write to disk.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.reports import (  # noqa: E402
    build_call_page,
    build_manager_page,
    build_team_page,
    make_environment,
    render_call_page,
    render_manager_page,
    render_team_page,
    write_reports,
)
from tests.test_reports_sample import bulk_records, default_script  # noqa: E402


def _build_only(records, script) -> None:
    by_manager = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    for key, calls in by_manager.items():
        for r in calls:
            build_call_page(r, script)
        build_manager_page(calls, slug=key, call_hrefs={r.call_id: r.call_id for r in calls}, scripts=[script])
    build_team_page(records, manager_hrefs={k: k for k in by_manager}, scripts=[script])


def _build_and_render(records, script) -> int:
    env = make_environment("ru")
    by_manager = defaultdict(list)
    size = 0
    for r in records:
        by_manager[r.manager].append(r)
    for key, calls in by_manager.items():
        for r in calls:
            size += len(render_call_page(build_call_page(r, script), env))
        page = build_manager_page(calls, slug=key, call_hrefs={r.call_id: r.call_id for r in calls}, scripts=[script])
        size += len(render_manager_page(page, env))
    size += len(render_team_page(build_team_page(records, manager_hrefs={k: k for k in by_manager}, scripts=[script]), env))
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    script = default_script()
    t0 = time.perf_counter()
    records = bulk_records(args.calls, args.managers, script=script)
    turns = sum(len(r.transcript.segments) for r in records if r.transcript)
    print(f"setup: {len(records)} calls, {args.managers} managers, {turns} transcript turns "
          f"({time.perf_counter() - t0:.1f} s to make)")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            t = time.perf_counter()
            _build_only(records, script)
            build = time.perf_counter() - t
            t = time.perf_counter()
            size = _build_and_render(records, script)
            render = time.perf_counter() - t
            t = time.perf_counter()
            write_reports(Path(tmp) / "reports", records, scripts=[script])
            write = time.perf_counter() - t
            rows.append((build, render, write))
            print(f"run {i + 1}: view data {build:5.2f} s | + render {render:5.2f} s | write_reports {write:5.2f} s")
        files = sum(1 for _ in (Path(tmp) / "reports").rglob("*.html"))
    best = min(rows, key=lambda r: r[2])
    print(f"best: view data {best[0]:.2f} s, build+render {best[1]:.2f} s ({best[0] / best[1]:.0%} of it is view data), "
          f"write_reports {best[2]:.2f} s for {files} pages, {size / 1e6:.1f} MB of HTML "
          f"({best[2] / len(records) * 1000:.1f} ms a call) — target < 10 s: {'OK' if best[2] < 10 else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
