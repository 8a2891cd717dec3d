"""Print the accuracy report of the scoring engine on the labelled calls (issue 2, point 9).

    python benchmarks/accuracy_report.py
    python benchmarks/accuracy_report.py --matcher mypkg.experiment:score_call
    python benchmarks/accuracy_report.py --calls tests/fixtures/calls_holdout   # the held-out set

Reuses the metric helpers of tests/test_accuracy.py, so the figures are the ones the tests assert on.
Exit status 0 always: this is a report; the thresholds are asserted by the tests.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _metrics_module():
    spec = importlib.util.spec_from_file_location("_accuracy_metrics", ROOT / "tests" / "test_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matcher", default="compliance.match:score_call", help="module:function to evaluate")
    parser.add_argument("--script", type=Path, default=None, help="script YAML (default: the packaged default)")
    parser.add_argument("--calls", type=Path, default=None,
                        help="folder of labelled calls with labels.yaml (default: tests/fixtures/calls)")
    args = parser.parse_args(argv)

    acc = _metrics_module()
    from compliance.resources import default_script_path
    from compliance.script import load_script

    script = load_script(args.script or default_script_path())
    calls = acc.load_labelled_calls(args.calls) if args.calls else acc.load_labelled_calls()
    score = acc.load_scorer(args.matcher)
    began = time.perf_counter()
    outcomes = acc.score_all(calls, script, score)
    elapsed = time.perf_counter() - began
    report = acc.build_report(calls, script, outcomes)
    print(acc.format_report(report, matcher=args.matcher))
    print(f"\nScored {len(calls)} labelled calls in {elapsed * 1000:.0f} ms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
