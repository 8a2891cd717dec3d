"""Noisy rooms: recognition and scoring of the same sixteen calls, clean and under noise, side by side.

    python benchmarks/noise_bench.py                 # every condition of make_noisy_audio.py, the dev set
    python benchmarks/noise_bench.py --set fresh     # the held-out calls: the figures to report
    python benchmarks/noise_bench.py --set voices-fresh7 --keep-cache DIR   # calls written blind, RHVoice's people
    python benchmarks/noise_bench.py --before        # also clean and bg10 without the background gate
    python benchmarks/noise_bench.py --conditions clean bg10 --model /path/to/ct2-whisper-small
    python benchmarks/noise_bench.py --set voices-held --conditions clean bg5 --calls asr_01_call_center_appliances

Each condition's calls are recognised with a cold transcript cache (the model loaded once, before), then scored
at the level their labels give (the set's labels.yaml). Printed per condition:

* manager WER: the manager's words (background turns excluded) against what was said on their channel;
* stage F1, its confusion table (TP / FP / FN / TN: present and absent as labelled against as reported) and absent
  reported: every stage of every call against the labels (present = said, by wording or meaning), absent
  reported = share of labelled-absent stages the scorer reports absent;
* forbidden from background: forbidden phrases charged (not held as uncertain) that the labels do not give to the
  manager; shown apart: those held as uncertain;
* verdict changes vs clean, and how many of them carry a review flag; flag rate, and by which rule (the manager's
  channel rated poor; the verdict would differ if the uncertain stages and held phrases went the other way);
* low-confidence share of the manager's words (median) and the words marked background;
* recognition CPU time (every thread of the process: steadier than wall time on shared cores), and its ratio to
  the clean run over the same calls; ``--keep-cache`` keeps transcripts and times, so an interrupted run goes on.

``--before``: the same without ``background_db`` (the stretches only background is heard in are decoded as the
pipeline did before, and no word is marked background), to see what the gate changes.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import load_labels, normalise  # noqa: E402
from make_noisy_audio import CONDITIONS, SETS, noisy_calls  # noqa: E402

from compliance.scoring.result import CallResult  # noqa: E402
from compliance.scoring.score import score_call  # noqa: E402
from compliance.scoring.script_file import load_script  # noqa: E402
from compliance.speech.transcribe import TranscribeOptions, load_model, transcribe_file  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
_WORD = re.compile(r"[^\W_]+")
SCRIPT = ROOT / "scripts_yaml" / "sales_call.ru.yaml"


def _wer(ref: str, hyp: str) -> tuple[int, int]:
    from rapidfuzz.distance import Levenshtein

    r, h = _WORD.findall(normalise(ref)), _WORD.findall(normalise(hyp))  # words, without punctuation
    return Levenshtein.distance(r, h), len(r)


def _run(condition: str, folder: Path, manifest: dict, labels: dict, options: TranscribeOptions, model,
         keep: Optional[Path]) -> dict:
    files = sorted(f for f in (folder / condition).iterdir() if f.stem in manifest)
    script = load_script(SCRIPT)
    out: dict = {"results": {}, "cpu": {}, "wer": [0, 0], "low": [], "background": 0}
    with tempfile.TemporaryDirectory() as temporary:
        cache = keep / condition if keep else Path(temporary)
        cache.mkdir(parents=True, exist_ok=True)
        timing = cache / "timing.json"
        timed = json.loads(timing.read_text()) if timing.exists() else {}
        for f in files:
            call = manifest[f.stem]
            before = len(list(cache.glob("*.json")))
            began = time.process_time()  # CPU seconds of every thread: steadier than wall time on shared cores
            transcript = transcribe_file(f, options, model=model, cache_dir=cache, script=script)
            if len(list(cache.glob("*.json"))) > before:  # recognised now, not read from the kept cache
                timed[f.stem] = time.process_time() - began
                timing.write_text(json.dumps(timed))
            tally_call(out, f.stem, transcript, call, script, labels[call["call"]]["level"])
        out["cpu"] = timed
    return out


def tally_call(out: dict, name: str, transcript, call: dict, script, level: str) -> None:
    """Score one recognised call into a condition's run: its result, the manager's word errors, the manager
    channel's share of unsure words and the words marked background."""
    out["results"][name] = score_call(transcript, script, level)
    ref = " ".join(t["text"] for t in call["turns"] if t["speaker"] == "manager")
    errors, words = _wer(ref, transcript.text_of("manager"))
    out["wer"][0] += errors
    out["wer"][1] += words
    quality = transcript.quality
    manager = next((q for q in quality.channels if q.speaker == "manager"), None) if quality else None
    if manager is not None:
        out["low"].append(manager.low_confidence)
    out["background"] += sum(q.background_words for q in quality.channels) if quality else 0


def _figures(run: dict, clean: Optional[dict], manifest: dict, labels: dict) -> dict[str, str]:
    tp = fp = fn = absent = absent_ok = 0
    bg_forbidden = held = changed = changed_flagged = flagged = poor = doubt = edge = 0
    for stem, result in run["results"].items():
        label = labels[manifest[stem]["call"]]
        said = {s.id: s.present and s.applies for s in result.stages}
        for sid, how in label["stages"].items():
            truth, guess = how != "absent", said.get(sid, False)
            tp += truth and guess
            fp += (not truth) and guess
            fn += truth and not guess
            if not truth:
                absent += 1
                absent_ok += not guess
        own = {normalise(p) for p in label.get("forbidden_by_manager") or []}
        bg_forbidden += sum(1 for h in result.charged_forbidden if normalise(h.phrase) not in own)
        held += sum(1 for h in result.forbidden if h.uncertain)
        flagged += bool(result.flags)
        poor += any(f.code == "poor_recognition" for f in result.flags)
        doubt += any(f.code == "verdict_uncertain" for f in result.flags)
        edge += any(f.code == "verdict_near_edge" for f in result.flags)
        if clean is not None and _verdict(result) != _verdict(clean["results"][stem]):
            changed += 1
            changed_flagged += bool(result.flags)
    n = len(run["results"])
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return {
        "manager WER %": f"{100 * run['wer'][0] / max(run['wer'][1], 1):.1f}",
        "stage F1": f"{f1:.3f}",
        "stages TP/FP/FN/TN": f"{tp}/{fp}/{fn}/{absent_ok}",
        "absent reported": f"{absent_ok / absent:.2f}" if absent else "—",
        "forbidden from background": str(bg_forbidden),
        "forbidden held (uncertain)": str(held),
        "verdicts changed vs clean": "—" if clean is None else str(changed),
        "… of them flagged": "—" if clean is None else f"{changed_flagged}/{changed}",
        "calls flagged": f"{flagged}/{n} ({100 * flagged / n:.0f} %)",
        "… poor / uncertain / near edge": f"{poor} / {doubt} / {edge}",
        "low-confidence share (median)": f"{statistics.median(run['low']):.3f}" if run["low"] else "—",
        "words marked background": str(run["background"]),
        "recognition CPU s": f"{sum(run['cpu'].values()):.0f} ({len(run['cpu'])} calls)",
        "time vs clean": "—" if clean is None else _ratio(run["cpu"], clean["cpu"]),
    }


def _ratio(noisy: dict[str, float], clean: dict[str, float]) -> str:
    """CPU time over the calls recognised (not read from a kept cache) in both runs."""
    both = [stem for stem in noisy if stem in clean]
    return f"{sum(noisy[s] for s in both) / sum(clean[s] for s in both):.2f}x ({len(both)})" if both else "—"


def _shown(result: CallResult) -> str:
    adherence = f" {result.adherence:.0f}" if result.adherence is not None else ""
    return f"{'*' if result.flags else ''}{_verdict(result)}{adherence}"


def _verdict(result: CallResult) -> Optional[str]:
    return str(result.verdict) if result.verdict is not None else ("not connected" if not result.connected else None)


def _print(table: dict[str, dict], runs: dict[str, dict], manifest: dict, verdicts: bool, why: bool) -> None:
    """The conditions side by side; with ``why`` the changed verdicts, with ``verdicts`` every call's."""
    rows = next(iter(table.values())).keys()
    width = max(len(r) for r in rows) + 2
    print("".ljust(width) + "".join(n.rjust(16) for n in table))
    for row in rows:
        print(row.ljust(width) + "".join(t.get(row, "").rjust(16) for t in table.values()))
    if why:
        _why(runs)
    if verdicts:
        print("\nverdict adherence per call (* flagged for review)")
        for stem in sorted(manifest):
            print(stem[:width - 2].ljust(width) + "".join((_shown(r["results"][stem]) if stem in r["results"] else "").rjust(16)
                                                      for r in runs.values()))


def _why(runs: dict[str, dict]) -> None:
    """Each changed verdict: the stages said in one run and not the other (? uncertain), phrases charged."""
    print("\nchanged verdicts: stage clean→noisy (? uncertain), charged phrases, flags")
    clean = runs["clean"]["results"]
    for name, run in runs.items():
        for stem, result in sorted(run["results"].items()):
            before = clean[stem]
            if name == "clean" or _verdict(result) == _verdict(before):
                continue
            was = {s.id: s for s in before.stages}
            moved = [f"{s.id} {'+' if was[s.id].present else '-'}→{'+' if s.present else '-'}{'?' if s.uncertain else ''}"
                     f" {was[s.id].score:.0f}→{s.score:.0f}"
                     for s in result.stages if s.id in was and s.applies and (s.present != was[s.id].present or
                                                                              abs(s.score - was[s.id].score) >= 1)]
            # a call not connected in one run has no stages there
            moved += [f"{s.id} {'+' if s.present else '-'}" for s in result.stages if s.id not in was and s.present]
            charged = [h.phrase for h in result.charged_forbidden]
            print(f"  {name:12} {stem[:40]:40} {_shown(before)} → {_shown(result)}: {'; '.join(moved)}"
                  f"{' | charged ' + ', '.join(charged) if charged else ''} | {[f.code for f in result.flags]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="which", choices=sorted(SETS), default="dev",
                        help="dev: the calls the thresholds were chosen on; fresh: held-out calls")
    parser.add_argument("--conditions", nargs="+", default=CONDITIONS, choices=CONDITIONS)
    parser.add_argument("--calls", nargs="+", default=None, metavar="NAME",
                        help="only these calls of the set (file names without extension): a quicker side-by-side run")
    parser.add_argument("--model", default=None, help="a CTranslate2 Whisper folder instead of the default base")
    parser.add_argument("--before", action="store_true", help="also clean and bg10 without the background gate")
    parser.add_argument("--verdicts", action="store_true", help="print every call's verdict per condition")
    parser.add_argument("--why", action="store_true",
                        help="for every call whose verdict differs from clean: the stages and phrases that differ")
    parser.add_argument("--keep-cache", type=Path, default=None, metavar="DIR",
                        help="keep the transcripts in DIR/<condition> (a second run re-scores them: its times "
                             "are not recognition times)")
    args = parser.parse_args(argv)
    folder, manifest = noisy_calls(which=args.which)
    if args.calls:
        unknown = sorted(set(args.calls) - set(manifest))
        if unknown:
            parser.error(f"not calls of the {args.which} set: {', '.join(unknown)}")
        manifest = {stem: call for stem, call in manifest.items() if stem in args.calls}
    labels = load_labels(SETS[args.which][0] / "labels.yaml")
    options = TranscribeOptions(**({"model": args.model} if args.model else {}))
    model = load_model(options)
    runs: dict[str, dict] = {}
    plan = [(c, options) for c in (["clean"] + [c for c in args.conditions if c != "clean"])]  # clean first: the reference
    if args.before:
        plain = options.model_copy(update={"background_db": 0.0})
        plan += [("clean", plain), ("bg10", plain)]
    for condition, opts in plan:
        name = condition if opts.background_db else f"{condition} (no gate)"
        runs[name] = _run(condition, folder, manifest, labels, opts, model, args.keep_cache)
        partial = _figures(runs[name], runs["clean"] if name != "clean" else None, manifest, labels)
        print(f"{name}: {partial}", file=sys.stderr, flush=True)
    minutes = sum(c["duration"] for c in manifest.values()) / 60
    print(f"{args.which} set: {len(manifest)} calls, {minutes:.1f} min per condition, Whisper {options.model} "
          f"({options.compute_type}, beam {options.beam_size}); background_db {options.background_db}")
    table = {name: _figures(run, runs["clean"] if name != "clean" else None, manifest, labels)
             for name, run in runs.items()}
    if "clean (no gate)" in table:  # the clean run before the gate is the reference of the runs without it
        table["bg10 (no gate)"] = _figures(runs["bg10 (no gate)"], runs["clean (no gate)"], manifest, labels) \
            if "bg10 (no gate)" in runs else {}
    _print(table, runs, manifest, args.verdicts, args.why)
    return 0


if __name__ == "__main__":
    sys.exit(main())
