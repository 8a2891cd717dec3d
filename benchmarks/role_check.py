"""Which party is the manager, by the script alone, on the labelled typed calls: each party's lines as its own
channel (what a stereo call gives the role choice, and a one-channel call once split), for every connected call.

    python benchmarks/role_check.py                        # every blind set under tests/fixtures
    python benchmarks/role_check.py tests/fixtures/calls_blind9 tests/fixtures/calls_blind10

Prints, per set and in total: calls; the manager's party chosen by fit alone (the higher adherence); chosen by the
product's rule (``ScriptFit.choice``: fit, and the party that says the opening stage when the other leads by less
than ``_OPENER_MARGIN``); and each call where either misses, with both parties' fits and who says the opening.
Recognition errors are not in it (typed text): the spoken sets' role figures come from mono_bench.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compliance.resources import default_script_path  # noqa: E402
from compliance.scoring.script_file import load_script  # noqa: E402
from compliance.scoring.transcript import parse_text_transcript  # noqa: E402
from compliance.speech.channels import _script_fit  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sets", nargs="*", type=Path, help="labelled sets (default: every calls_blind* folder)")
    args = parser.parse_args(argv)
    sets = args.sets or sorted(FIXTURES.glob("calls_blind*"), key=lambda p: (len(p.name), p.name))
    script = load_script(default_script_path())
    totals = [0, 0, 0]
    misses = []
    print(f"{'set':<16}{'calls':>7}{'by fit':>9}{'by rule':>9}")
    for folder in sets:
        labels_file = folder / "sales_call" / "labels.yaml"
        if not labels_file.exists():
            continue
        labels = yaml.safe_load(labels_file.read_text(encoding="utf-8"))["calls"]
        counts = [0, 0, 0]
        for name, label in sorted(labels.items()):
            if not label.get("connected"):
                continue
            transcript = parse_text_transcript((folder / "sales_call" / name).read_text(encoding="utf-8"))
            parties = [[s for s in transcript.segments if s.speaker == who] for who in ("manager", "client")]
            fitted = _script_fit(parties, script)
            by_fit = fitted.fits[0] > fitted.fits[1]
            chosen = fitted.choice()
            by_rule = chosen is not None and chosen[0] == 0
            counts = [counts[0] + 1, counts[1] + by_fit, counts[2] + by_rule]
            if not (by_fit and by_rule):
                misses.append(f"  {folder.name}/{name}: fits manager {fitted.fits[0]:.1f} / client "
                              f"{fitted.fits[1]:.1f}, opening said by manager {fitted.opens[0]} / client "
                              f"{fitted.opens[1]}; by fit {'right' if by_fit else 'wrong'}, by rule "
                              f"{'right' if by_rule else 'wrong' if chosen else 'undecided'}")
        print(f"{folder.name:<16}{counts[0]:>7}{counts[1]:>9}{counts[2]:>9}")
        totals = [a + b for a, b in zip(totals, counts)]
    print(f"{'all':<16}{totals[0]:>7}{totals[1]:>9}{totals[2]:>9}")
    print("\n".join(misses) if misses else "  no call missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
