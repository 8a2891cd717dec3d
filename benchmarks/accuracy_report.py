"""Print the accuracy report of the scoring engine on labelled calls (issue 2, point 9; issue 8, point 9).

    python benchmarks/accuracy_report.py                                     # development set tests/fixtures/calls
    python benchmarks/accuracy_report.py --calls tests/fixtures/calls_holdout  # the old held-out set (now dev data)
    python benchmarks/accuracy_report.py --blind                             # the blind set: words only vs meaning
    python benchmarks/accuracy_report.py --blind tests/fixtures/calls_blind2  # any labelled set, same report
    python benchmarks/accuracy_report.py --blind DIR --verifier              # also the rules without the act verifier
    python benchmarks/accuracy_report.py --matcher mypkg.experiment:score_call

The harness is benchmarks/accuracy.py, so the figures are the ones the tests assert on.
``--blind DIR`` takes a folder with one sub-folder per bundled script (``sales_call/labels.yaml`` …) or a flat
folder with its own ``labels.yaml`` (scored against the default script). It prints, per scorer: the confusion by
label and in total, per script and per stage; absent stages called absent; own-words stages found; newcomer
verdicts against the labels; and every disagreement (file, stage, label, ours).
Exit status 0 for a report (the thresholds are asserted by the tests); 2 when the set cannot be read.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import accuracy as acc
import blind
import yaml

from compliance.errors import ComplianceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--matcher", default="compliance.scoring.score:score_call", help="module:function to evaluate")
    parser.add_argument("--script", type=Path, default=None, help="script YAML (default: the packaged default)")
    parser.add_argument("--calls", type=Path, default=None,
                        help="folder of labelled calls with labels.yaml (default: tests/fixtures/calls)")
    parser.add_argument("--blind", nargs="?", const=blind.BLIND_DIR, type=Path, default=None,
                        help="the blind set (one folder per script); prints words only vs with meaning")
    parser.add_argument("--verifier", action="store_true",
                        help="with --blind: also score with meaning but without the act verifier (rules only)")
    args = parser.parse_args(argv)

    if args.blind is not None:
        try:
            sets = blind.load_blind_sets(args.blind)
        except (OSError, ValueError, KeyError, yaml.YAMLError, ComplianceError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"Set: {args.blind} ({sum(len(c) for _, c in sets)} calls; scripts: "
              f"{', '.join(s.id for s, _ in sets)})")
        runs = {}
        scorers = [("words only", blind.score_words_only), ("with meaning", acc.load_scorer(args.matcher))]
        if args.verifier:
            # before the full run: the manager's sentences are embedded here, so the full run's extra time is
            # the verifier's own (the client's sentences it embeds, its features, its models)
            scorers.insert(1, ("with meaning, no act verifier", _without_verifier(acc.load_scorer(args.matcher))))
        for name, scorer in scorers:
            began = time.perf_counter()
            runs[name] = blind.score_blind(sets, scorer)
            print(f"{name}: {sum(len(c) for _, c in sets)} calls in {time.perf_counter() - began:.1f} s")
        print(blind.format_blind(runs))
        return 0

    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script

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


def _without_verifier(score: acc.Scorer) -> acc.Scorer:
    """The scorer with the act verifier switched off: the rules alone, beside the full run."""
    from compliance.scoring import verifier

    def scored(transcript, script, level="newcomer"):  # type: ignore[no-untyped-def]
        verifier.use_models({})
        try:
            return score(transcript, script, level)
        finally:
            verifier.use_models(None)

    return scored


if __name__ == "__main__":
    sys.exit(main())
