"""Mono calls against the same calls in stereo: diarization, the manager's party, and what scoring makes of them.

The calls are benchmarks/make_mono_audio.py's (labelled development transcripts spoken in two voices), each as a
stereo file (one party a channel) and mixed to one channel at 8 kHz μ-law and at 32 kbps mp3. All three go through
the real pipeline (Whisper base, int8, the bundled model) and are scored with the default script at the call's
labelled level. Printed side by side, with the issue's targets:

- DER: diarization error rate against the spoken turns (collar 0.25 s, overlapped speech counted);
- manager found: calls where the party chosen as the manager is the one that spoke the manager's turns;
- stage F1 against the labels (tests/fixtures/calls/labels.yaml; a trap call keeps its original labels);
- client forbidden phrases charged to the manager; traps (the client says a script line of a stage the manager
  skipped) credited; flagged calls;
- diarization time as a share of recognition time.

Bad input (one voice, silence, hold music, a three-way call) is run too and its status printed.

``--other czech`` (or ``espeak``): the same through the pipeline on make_mono_audio's second sets, whose client is
another recorded person (festival's Czech voices reading the Russian turns) or another synthesizer; mono only.

``--rhvoice dev`` (or ``heldout``; ``heldout7`` / ``heldout8``: a blind set's calls 17–32 in new voice pairs;
``heldout9`` … ``heldout13``: the ninth to eleventh sets' short calls, the twelfth's and thirteenth's whole and
short ones): one part of make_mono_audio's RHVoice set, whose two parties are two different people's voices
(RHVoice's Russian voices, each trained on one real person's recordings), with traps; the bad input (spoken by the
development part's voices) runs with ``dev``. Each mono call's split is printed too (DER, the separation and
contrast of its parties, whether it was flagged as not separated).

``--speed`` (issue 21, point 7): ``compliance batch`` over the same mono files (8 kHz μ-law and 32 kbps mp3, a
day folder as a recorder writes it) against ``whisper-ctranslate2 --batched True`` (``pip install
whisper-ctranslate2``; it does not diarize) on the same files, alternated in one run, the fastest of ``--repeat``
runs each; both from the command line with model loads, the same model folder, a cold cache and a fresh database;
each run's CPU seconds beside its wall. ``--speed-only`` skips the accuracy run; ``--peer PATH`` (or
``$WHISPER_CTRANSLATE2``) names the peer's CLI when it is not on PATH; ``--before CHECKOUT`` also runs that tree's
batch in the same rounds. Where the batch's time goes: ``benchmarks/batch_profile.py``.

    python benchmarks/mono_bench.py [--limit N] [--speed] [--repeat N] [--other espeak|czech] [--rhvoice dev|heldout]
    python benchmarks/mono_bench.py --rhvoice heldout7 --speed-only --limit 4 --peer /tmp/peer/bin/whisper-ctranslate2
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from accuracy import predicted_presence  # noqa: E402
from diarize_bench import der, merge  # noqa: E402
from make_mono_audio import BLIND_SETS, ROOT, blind_calls, mono_calls, other_voice_calls, rhvoice_calls  # noqa: E402

from compliance.resources import (
    cache_root,  # noqa: E402
    default_script_path,  # noqa: E402
)
from compliance.scoring.score import score_call  # noqa: E402
from compliance.scoring.script_file import load_script  # noqa: E402
from compliance.speech import transcribe as tx  # noqa: E402
from compliance.speech.engine import TranscribeOptions, load_model  # noqa: E402
from compliance.speech.parties import NOT_SEPARATED  # noqa: E402

FORMATS = {"stereo.wav": "stereo 8k μ-law", "mono.wav": "mono 8k μ-law", "mono.mp3": "mono 32k mp3"}
LABELS = {**yaml.safe_load((ROOT / "tests" / "fixtures" / "calls" / "labels.yaml").read_text(encoding="utf-8"))["calls"],
          **{call: label for folder, *_ in BLIND_SETS.values() if (folder / "labels.yaml").exists()
             for call, label in yaml.safe_load((folder / "labels.yaml").read_text(encoding="utf-8"))["calls"].items()}}


def _timed_transcribe(path: Path, options: TranscribeOptions, model, script, cache: Path):
    """The transcript and (recognition seconds, diarization seconds); the cache is per run, so both are real."""
    began = time.perf_counter()
    transcript = tx.transcribe_file(path, options, model=model, cache_dir=cache, script=script)
    total = time.perf_counter() - began
    diar = _diarization_seconds(cache)
    return transcript, total - diar, diar


def _diarization_seconds(cache: Path) -> float:
    """What the diarizer took, as it recorded in the cached entry."""
    newest = max(cache.glob("*.json"), key=lambda p: p.stat().st_mtime)
    data = json.loads(newest.read_text(encoding="utf-8"))
    return float((data.get("diarization") or {}).get("seconds", 0.0))


def _speaker_spans(transcript) -> list[tuple[float, float, int]]:
    units, labels = [], []
    for seg in transcript.segments:
        for w in seg.words:
            if w.start is not None and seg.speaker in ("manager", "client"):
                units.append((w.start, w.end if w.end is not None else w.start))
                labels.append(0 if seg.speaker == "manager" else 1)
    return merge(units, labels)


def _manager_found(transcript, turns: list[dict]) -> bool:
    """The words labelled manager lie mostly in the manager's spoken turns."""
    said = {"manager": 0.0, "client": 0.0}
    for seg in transcript.segments:
        if seg.speaker != "manager":
            continue
        for w in seg.words:
            mid = ((w.start or 0.0) + (w.end or w.start or 0.0)) / 2
            for t in turns:
                if t["start"] <= mid <= t["end"] and t["speaker"] in said:
                    said[t["speaker"]] += 1
                    break
    return said["manager"] > 2 * said["client"]


class _Tally:
    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.ders: list[float] = []
        self.found = self.calls = 0
        self.client_charged = 0
        self.traps = self.traps_credited = 0
        self.flagged = 0
        self.not_separated = 0
        self.recognise = self.diarize = 0.0
        self.talk: list[tuple[float, float, float, float]] = []  # |mono − stereo|: share pts, monologue s, …
        self.talk_sure: list[tuple[float, float, float, float]] = []  # … of the calls not flagged «не разделены»
        self.whole = 0   # one voice that converses: scored on all its words, no speaker (its DER is 100 %)
        self.ders_split: list[float] = []  # DER of the other calls

    def f1(self) -> float:
        return 2 * self.tp / max(2 * self.tp + self.fp + self.fn, 1)


def _score(tally: _Tally, entry: dict, transcript, script) -> bool:
    """Tally one call; True when it was flagged as not separated."""
    labels = LABELS[entry["call"]]
    result = score_call(transcript, script, labels.get("level", "newcomer"))
    tally.calls += 1
    tally.flagged += bool(result.flags)
    tally.not_separated += any(f.code == NOT_SEPARATED for f in result.flags)
    truth = {sid: v != "absent" for sid, v in labels["stages"].items()}
    # what counts, as the typed sets count it: a stage present where it applies (a branch said but not taken does
    # not count); not connected: none
    counted = predicted_presence(result, list(truth)) if result.connected else {}
    for sid, said_truly in truth.items():
        said = counted.get(sid, False)
        tally.tp += said and said_truly
        tally.fp += said and not said_truly
        tally.fn += (not said) and said_truly
    client_only = set(labels.get("client_forbidden") or []) - set(labels.get("forbidden_by_manager") or [])
    tally.client_charged += sum(1 for hit in result.forbidden if hit.phrase in client_only)
    if entry.get("trap"):
        tally.traps += 1
        stage = next((s for s in result.stages if s.id == entry["trap"]["stage"]), None)
        tally.traps_credited += bool(stage and stage.present)
    return any(f.code == NOT_SEPARATED for f in result.flags)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=0, help="only the first N calls (and the traps)")
    parser.add_argument("--speed", action="store_true", help="also compliance batch vs whisper-ctranslate2")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each in --speed (the fastest counts)")
    parser.add_argument("--speed-only", action="store_true", help="only --speed (no accuracy run first); with "
                        "--limit N, the first N calls' mono files")
    parser.add_argument("--before", type=Path, help="with --speed: also this checkout's batch (e.g. a worktree of "
                        "the commit before a change), in the same rounds")
    parser.add_argument("--peer", type=Path, help="the peer CLI (default: $WHISPER_CTRANSLATE2, the one beside this "
                        "interpreter, or the one on PATH), e.g. /tmp/peer/bin/whisper-ctranslate2")
    parser.add_argument("--other", choices=["espeak", "czech"], help="the set whose client is another synthesizer "
                        "(espeak-ng) or another recorded person (festival's Czech voices); mono only, no traps")
    parser.add_argument("--rhvoice", choices=["dev", "heldout", *BLIND_SETS], help="a part of the RHVoice set (two "
                        "people's voices a call; the held-out part is measured once, not tuned on); heldout7, heldout8: a "
                        "blind set's mono half, heldout9–11: short calls; in voice pairs new to every earlier set")
    args = parser.parse_args(argv)
    if args.rhvoice in BLIND_SETS:
        folder, manifest = blind_calls(args.rhvoice)
    elif args.rhvoice:
        folder, manifest = rhvoice_calls()
        manifest = {f: m for f, m in manifest.items() if m.get("part") == args.rhvoice}
    else:
        folder, manifest = other_voice_calls(czech=args.other == "czech") if args.other else mono_calls()
    if args.peer:
        os.environ["WHISPER_CTRANSLATE2"] = str(args.peer)
    stems = sorted({f.rsplit(".", 2)[0] for f, m in manifest.items() if m["kind"] == "call"},
                   key=lambda s: ("_trap" in s, s))
    if args.speed_only:
        calls = stems[:args.limit] if args.limit else stems
        speed([folder / f"{stem}.{fmt}" for stem in calls for fmt in FORMATS if fmt.startswith("mono")],
              manifest, args.repeat, args.before)
        return 0
    script = load_script(default_script_path())
    options = TranscribeOptions(language=script.language)
    model = load_model(options)
    if args.limit:
        stems = [s for s in stems if "_trap" not in s][:args.limit] + [s for s in stems if "_trap" in s]
    tallies = {fmt: _Tally() for fmt in FORMATS if f"{stems[0]}.{fmt}" in manifest}
    stereo_talk = {}
    run_name = args.other or (f"rhvoice-{args.rhvoice}" if args.rhvoice else "")
    run_cache = cache_root() / ("mono-bench-run" + (f"-{run_name}" if run_name else ""))
    for stem in stems:
        for fmt, tally in tallies.items():
            entry = manifest[f"{stem}.{fmt}"]
            cache = run_cache / fmt / stem
            for old in cache.glob("*.json"):
                old.unlink()
            transcript, rec, dia = _timed_transcribe(folder / f"{stem}.{fmt}", options, model, script, cache)
            tally.recognise += rec
            tally.diarize += dia
            flagged = _score(tally, entry, transcript, script)
            if fmt == "stereo.wav":
                stereo_talk[stem] = transcript.talk
            elif transcript.talk is not None and stereo_talk.get(stem) is not None:
                tally.talk.append(_talk_gap(transcript.talk, stereo_talk[stem]))
                if not flagged:
                    tally.talk_sure.append(tally.talk[-1])
            if fmt.startswith("mono"):
                turns = [t for t in entry["turns"] if t["speaker"] in ("manager", "client")]
                tally.ders.append(der(turns, _speaker_spans(transcript), entry["duration"]))
                tally.found += _manager_found(transcript, turns)
                whole = not transcript.speakers_known and transcript.parties is not None
                tally.whole += whole
                if not whole:
                    tally.ders_split.append(tally.ders[-1])
                parties = transcript.parties
                print(f"  {stem} {fmt}: voices {'/'.join(entry.get('voices', []))}, DER {tally.ders[-1] * 100:.1f} %, "
                      f"parties {parties.voices if parties else '-'}, separation "
                      f"{parties.separation if parties else '-'}, manager found {_manager_found(transcript, turns)}"
                      f"{', NOT SEPARATED' if flagged else ''}", file=sys.stderr)
            else:
                tally.found += _manager_found(transcript, entry["turns"])
        print(f"{stem}: done", file=sys.stderr)
    _print(tallies)
    if not args.other and args.rhvoice not in ("heldout", *BLIND_SETS):
        _bad_input(folder, manifest, options, model, script, run_cache)
    if args.speed:
        speed([folder / f"{stem}.{fmt}" for stem in stems for fmt in FORMATS if fmt.startswith("mono")],
              manifest, args.repeat, args.before)
    return 0


def speed(sources: list[Path], manifest: dict, repeat: int, before: Optional[Path] = None) -> None:
    """``compliance batch`` against ``whisper-ctranslate2 --batched True`` over the same mono files, side by side
    (and ``before``: another checkout's batch, e.g. the tree before a change, in the same rounds). Each run's CPU
    seconds (its process and children) are printed too: on shared cores the wall follows them."""
    from transcribe_bench import _peer_command

    from compliance.speech.model import assemble_default_model

    peer, model = _peer_command(), str(assemble_default_model())
    seconds = sum(manifest[s.name]["duration"] for s in sources)
    ours = [sys.executable, "-c", "from compliance.cli import main; main()", "batch"]
    runs: dict[str, list[tuple[float, float]]] = {"peer": [], "ours": []} | ({"before": []} if before else {})
    with tempfile.TemporaryDirectory(prefix="mono-speed-") as tmp_name:
        tmp = Path(tmp_name)
        files = []
        for i, source in enumerate(sources):
            manager = ("ivanova", "petrov", "sidorova")[i % 3]
            target = tmp / "day" / "2026-11-27" / manager / (f"2026-11-27_{9 + i // 4:02d}-{(i * 7) % 60:02d}-00_"
                                                             f"{manager}_38099{1000000 + i:07d}{''.join(source.suffixes)}")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
            files.append(str(target))
        for k in range(repeat):  # alternated; each one's fastest run counts (other load only slows down)
            runs["peer"].append(_run_timed([*peer, *files, "--model_directory", model, "--device", "cpu",
                                            "--compute_type", "int8", "--batched", "True", "--language", "ru",
                                            "--output_format", "json", "--output_dir", str(tmp / f"peer{k}"),
                                            "--verbose", "False"]))
            for name in [n for n in runs if n != "peer"]:
                runs[name].append(_run_timed([*ours, str(tmp / "day"), "--db", str(tmp / f"{name}{k}.db"),
                                              "--cache-dir", str(tmp / f"cache-{name}{k}"), "--json"],
                                             before if name == "before" else None))
    print(f"\nspeed: {len(files)} mono files, {seconds:.0f} s of audio; load average {os.getloadavg()[0]:.1f}")
    print(f"{'pipeline':<52} {'wall s':>7} {'audio s/s':>9} {'CPU s':>7}")
    names = {"peer": "whisper-ctranslate2 --batched True (no diarization)",
             "before": f"compliance batch, {before}", "ours": "compliance batch (diarized, scored, stored)"}
    for name, done in runs.items():
        wall, cpu = min(done)
        print(f"{names[name]:<52} {wall:7.1f} {seconds / wall:8.1f}x {cpu:7.1f}")
    peer_s = min(runs["peer"])[0]
    for name in [n for n in runs if n != "peer"]:
        print(f"ratio {name}/peer: {peer_s / min(runs[name])[0]:.2f}x (target >= 1.0x), by CPU "
              f"{min(runs['peer'])[1] / min(runs[name])[1]:.2f}x; runs: "
              + "; ".join(f"{n} " + ", ".join(f"{w:.1f} s ({c:.1f} CPU s)" for w, c in runs[n]) for n in runs))


def _run_timed(cmd: list[str], checkout: Optional[Path] = None) -> tuple[float, float]:
    """Wall and CPU seconds (the command and its children) of one run; ``checkout``: import compliance from there."""
    import resource
    import subprocess

    # python -c puts the working folder first on sys.path: the other tree's batch runs from there
    env = dict(os.environ, PYTHONPATH=str(checkout)) if checkout else None
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env, cwd=checkout)
    took = time.perf_counter() - began
    if out.returncode not in (0, 3):
        raise SystemExit(f"{cmd[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return took, (after.ru_utime - used.ru_utime) + (after.ru_stime - used.ru_stime)


def _talk_gap(mono, stereo) -> tuple[float, float, float, float]:
    """How far a mono call's talk metrics are from the same call's in stereo."""
    response = abs((mono.response_time or 0.0) - (stereo.response_time or 0.0))
    return (abs(mono.manager_share - stereo.manager_share) * 100,
            abs(mono.longest_manager_monologue - stereo.longest_manager_monologue),
            abs(mono.interruptions - stereo.interruptions), response)


def _worst(values: list[tuple[float, ...]], i: int, unit: str) -> str:
    return f"{max(v[i] for v in values):.1f}{unit}" if values else "—"


def _print(tallies: dict[str, _Tally]) -> None:
    stereo = tallies.get("stereo.wav", _Tally())
    rows = [
        ("calls", lambda t: f"{t.calls}", ""),
        ("DER (collar 0.25 s)", lambda t: f"{sum(t.ders) / len(t.ders) * 100:.1f} %" if t.ders else "—", "≤ 10 %"),
        ("DER worst call", lambda t: f"{max(t.ders) * 100:.1f} %" if t.ders else "—", ""),
        ("… calls split in two", lambda t: f"{sum(t.ders_split) / len(t.ders_split) * 100:.1f} % ({len(t.ders_split)})"
         if t.ders_split else "—", ""),
        ("scored on all words", lambda t: f"{t.whole}" if t.ders else "—", "(one voice that converses)"),
        ("manager found", lambda t: f"{t.found}/{t.calls} ({t.found / max(t.calls, 1) * 100:.0f} %)", "≥ 95 %"),
        ("stage F1", lambda t: f"{t.f1():.3f}", f"≥ {stereo.f1() - 0.02:.3f} (stereo − 0.02)"),
        ("stage TP/FP/FN", lambda t: f"{t.tp}/{t.fp}/{t.fn}", ""),
        ("client phrases charged", lambda t: f"{t.client_charged}", "0"),
        ("traps credited", lambda t: f"{t.traps_credited}/{t.traps}", "0"),
        ("talk share vs stereo, worst", lambda t: _worst(t.talk, 0, " pts"), "≤ 5 pts"),
        ("… of calls not flagged", lambda t: _worst(t.talk_sure, 0, " pts"), ""),
        ("monologue vs stereo, worst", lambda t: _worst(t.talk, 1, " s"), ""),
        ("interruptions vs stereo", lambda t: _worst(t.talk, 2, ""), ""),
        ("response time vs stereo", lambda t: _worst(t.talk, 3, " s"), ""),
        ("flagged for review", lambda t: f"{t.flagged}", ""),
        ("«не разделены» flags", lambda t: f"{t.not_separated}", ""),
        ("recognition s", lambda t: f"{t.recognise:.0f}", ""),
        ("diarization s (share)", lambda t: f"{t.diarize:.1f} ({t.diarize / max(t.recognise, 1e-9) * 100:.1f} %)",
         "≤ 15 %"),
    ]
    print(f"\n{'':<24}" + "".join(f"{FORMATS[f]:>18}" for f in tallies) + "   target")
    for name, show, target in rows:
        print(f"{name:<24}" + "".join(f"{show(t):>18}" for t in tallies.values()) + f"   {target}")


def _bad_input(folder: Path, manifest: dict, options, model, script, run_cache: Path) -> None:
    print("\nbad input (mono):")
    for name, entry in sorted(manifest.items()):
        if entry["kind"] == "call":
            continue
        cache = run_cache / "bad" / name
        transcript = tx.transcribe_file(folder / name, options, model=model, cache_dir=cache, script=script)
        result = score_call(transcript, script, "newcomer")
        parties = transcript.parties
        status = "connected" if result.connected else f"not connected: {result.not_connected.code}"
        flags = ",".join(f.code for f in result.flags) or "-"
        voices = parties.voices if parties else "-"
        print(f"  {name:<26} {entry['kind']:<10} voices {voices}  {status}  flags {flags}")


if __name__ == "__main__":
    sys.exit(main())
