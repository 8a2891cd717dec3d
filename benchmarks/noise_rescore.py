"""Re-score a kept noise_bench run without recognising again: the transcripts ``noise_bench.py --keep-cache DIR``
left in DIR/<condition>, assembled and scored with the code as it is now (a change of the flag or scoring rules,
or of how words become turns, measured in seconds instead of a recognition run).

    python benchmarks/noise_rescore.py --set voices-dev DIR [--verdicts] [--why]

The CPU rows are those the run recorded.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import load_labels  # noqa: E402
from make_noisy_audio import CONDITIONS, SETS, noisy_calls  # noqa: E402
from noise_bench import SCRIPT, _figures, _print, tally_call  # noqa: E402

from compliance.scoring.script_file import load_script  # noqa: E402
from compliance.speech.assemble import assemble_transcript  # noqa: E402
from compliance.speech.cache import _Recognised  # noqa: E402
from compliance.speech.decode import audio_hash  # noqa: E402
from compliance.speech.engine import TranscribeOptions  # noqa: E402


def rescore(which: str, kept: Path, options: TranscribeOptions) -> dict[str, dict]:
    folder, manifest = noisy_calls(which=which)
    labels = load_labels(SETS[which][0] / "labels.yaml")
    script = load_script(SCRIPT)
    runs: dict[str, dict] = {}
    for condition in sorted(p.name for p in kept.iterdir() if p.is_dir()):
        cached = {}
        for entry in (kept / condition).glob("*.json"):
            if entry.name == "timing.json":
                continue
            recognised = _Recognised.model_validate_json(entry.read_bytes())
            cached[recognised.audio_sha256] = recognised
        timing = kept / condition / "timing.json"
        out: dict = {"results": {}, "cpu": json.loads(timing.read_text()) if timing.exists() else {},
                     "wer": [0, 0], "low": [], "background": 0}
        for f in sorted((folder / condition).iterdir()):
            recognised = cached.get(audio_hash(f))
            if recognised is None:
                continue
            transcript = assemble_transcript(recognised, str(f), options, script)
            call = manifest[f.stem]
            tally_call(out, f.stem, transcript, call, script, labels[call["call"]]["level"])
        runs[condition] = out
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kept", type=Path)
    parser.add_argument("--set", dest="which", choices=sorted(SETS), default="dev")
    parser.add_argument("--verdicts", action="store_true")
    parser.add_argument("--why", action="store_true")
    args = parser.parse_args(argv)
    runs = rescore(args.which, args.kept, TranscribeOptions())
    runs = {c: runs[c] for c in CONDITIONS if c in runs}
    _, manifest = noisy_calls(which=args.which)
    labels = load_labels(SETS[args.which][0] / "labels.yaml")
    table = {name: _figures(run, runs["clean"] if name != "clean" else None, manifest, labels)
             for name, run in runs.items()}
    _print(table, runs, manifest, args.verdicts, args.why)
    return 0


if __name__ == "__main__":
    sys.exit(main())
