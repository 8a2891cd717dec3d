"""Transcription speed and accuracy next to the peers, in one run.

    python benchmarks/transcribe_bench.py                  # ours vs whisper-ctranslate2 --batched True (issue 13)
    python benchmarks/transcribe_bench.py --plain          # ours vs plain faster-whisper, one process (issue 3)
    python benchmarks/transcribe_bench.py --plain --sweep  # also our pipeline under other settings
    python benchmarks/transcribe_bench.py --repeat 1       # one run each (default 2, the fastest counts)
    python benchmarks/transcribe_bench.py --set check      # the twelve other spoken calls instead

The peer (default): ``whisper-ctranslate2`` (``pip install whisper-ctranslate2``, the tool a user would
otherwise pick) with ``--batched True``, run once over a day folder of recordings (the ten development calls
spoken by ``make_bench_audio.py`` with festival, 15 min, plus the fixture calls), next to ``compliance batch``
on the same folder with a cold transcript cache and a fresh database. Both from the command line, model loads
included, the same model folder (Whisper base, int8, CPU). The peer hears one downmixed channel; ours keeps
the parties apart (and also scores and stores every call). Reported: audio seconds per wall second, the ratio
ours/peer, the WER of all speech for both, and of the manager's words on stereo calls: ours from the
manager's channel, the peer's by aligning its mixed transcript to the reference, whose words know their speaker.

``--plain``:

Corpus: the synthesised calls in tests/fixtures/audio (two stereo calls, a mono 8 kHz mix) plus longer
calls glued from them (3 and 2 minutes), at least 5 minutes in all; every turn's text is known from
manifest.json, so the accuracy of each pipeline is measured too.

Each pipeline runs in its own subprocess (fair peak RSS), with the same model (Whisper base, int8):

* plain: what a user would write — ``WhisperModel(path, device="cpu", compute_type="int8")`` and
  ``model.transcribe(file)`` with faster-whisper's defaults (sequential, beam 5, no VAD, the downmix);
* ours: ``transcribe_file`` with ``TranscribeOptions()`` — both channels, word timestamps, guards, and
  the gap re-decoding included; an empty transcript cache, so everything is recognised.

Reported: audio seconds per wall second (model load excluded, shown apart), peak RSS, WER against what
was said (all speech, in time order; ours: both channels merged) and the manager's script lines found in
the output (RapidFuzz partial_ratio ≥ 80 after normalisation). The ratio is ours / plain throughput.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AUDIO = ROOT / "tests" / "fixtures" / "audio"
MANIFEST = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))
SWEEP = {
    "batched beam 5 (default)": {},
    "batched beam 1": {"beam_size": 1},
    "batched beam 2": {"beam_size": 2},
    "batched beam 3": {"beam_size": 3},
    "batched beam 5, VAD min silence 160 ms": {"vad_min_silence_ms": 160},
    "batched beam 5, batch 4": {"batch_size": 4},
    "batched beam 5, batch 16": {"batch_size": 16},
    "batched beam 5, no gap pass": {"fill_gaps": False},
    "batched beam 5, 1 thread": {"threads": 1},
    "sequential beam 5, VAD": {"batched": False},
    "sequential beam 1, VAD": {"batched": False, "beam_size": 1},
}


def _plain_text(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower().replace("ё", "е"))


def _glue(names: list[str], out: Path) -> dict:
    """Concatenate fixture calls (decoded) into one 16 kHz WAV; return its manifest entry."""
    from compliance.speech.decode import decode_audio

    pieces, turns, offset = [], [], 0.0
    for name in names:
        decoded = decode_audio(AUDIO / name)
        pieces.append(np.stack(decoded.channels))
        turns += [{**t, "start": t["start"] + offset, "end": t["end"] + offset} for t in MANIFEST[name]["turns"]]
        offset += decoded.duration
    audio = np.concatenate(pieces, axis=1)
    pcm = (np.clip(audio, -1, 1) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm.T.tobytes())
    return {"duration": audio.shape[1] / 16000, "turns": turns}


def build_corpus(folder: Path) -> dict[str, dict]:
    corpus = {str(AUDIO / n): {"duration": MANIFEST[n]["duration"], "turns": MANIFEST[n]["turns"]}
              for n in ("call_full.stereo.ogg", "call_missing.stereo.ogg", "call_full.mono.mp3")}
    long_stereo = folder / "long_stereo.wav"
    corpus[str(long_stereo)] = _glue(["call_full.stereo.ogg", "call_missing.stereo.ogg", "call_full.stereo.ogg"],
                                     long_stereo)
    long_mono = folder / "long_mono.wav"
    corpus[str(long_mono)] = _glue(["call_full.mono.mp3", "call_full.mono.mp3"], long_mono)
    return corpus


# ---------------------------------------------------------------------------------------------------
# Workers (run in a subprocess each)


def _worker(kind: str, files: list[str], settings: dict) -> dict:
    from compliance.speech.model import assemble_default_model

    texts, t0 = {}, time.perf_counter()
    if kind == "plain":
        from faster_whisper import WhisperModel

        model = WhisperModel(str(assemble_default_model()), device="cpu", compute_type="int8")
        loaded = time.perf_counter()
        for f in files:
            segments, _ = model.transcribe(f)
            texts[f] = " ".join(s.text for s in segments)
    else:
        from compliance.speech.transcribe import TranscribeOptions, load_model, transcribe_file

        options = TranscribeOptions(**settings)
        model = load_model(options)
        loaded = time.perf_counter()
        with tempfile.TemporaryDirectory() as cache:
            for f in files:
                transcript = transcribe_file(f, options, model=model, cache_dir=cache)
                texts[f] = " ".join(s.text for s in transcript.segments)
    done = time.perf_counter()
    return {"load_s": loaded - t0, "wall_s": done - loaded, "texts": texts,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _run(kind: str, files: list[str], settings: dict | None = None) -> dict:
    cmd = [sys.executable, __file__, "--worker", kind, "--settings", json.dumps(settings or {}), *files]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} worker failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------
# Scoring


def _quality(corpus: dict[str, dict], texts: dict[str, str]) -> tuple[float, int, int]:
    from rapidfuzz import fuzz
    from rapidfuzz.distance import Levenshtein

    errors = words = found = lines = 0
    for f, meta in corpus.items():
        turns = sorted(meta["turns"], key=lambda t: t["start"])
        ref = _plain_text(" ".join(t["text"] for t in turns))
        hyp = _plain_text(texts[f])
        errors += Levenshtein.distance(ref, hyp)
        words += len(ref)
        said = " ".join(hyp)
        for t in turns:
            if t["speaker"] == "manager":
                lines += 1
                found += fuzz.partial_ratio(" ".join(_plain_text(t["text"])), said) >= 80
    return 100 * errors / words, found, lines


def _row(name: str, res: dict, audio_s: float, corpus: dict) -> dict:
    wer, found, lines = _quality(corpus, res["texts"])
    return {"pipeline": name, "wall_s": res["wall_s"], "load_s": res["load_s"], "speed": audio_s / res["wall_s"],
            "peak_rss_mb": res["peak_rss_mb"], "wer": wer, "lines": f"{found}/{lines}"}


def _best(results: list[dict]) -> dict:
    best = min(results, key=lambda r: r["wall_s"])
    return {**best, "peak_rss_mb": max(r["peak_rss_mb"] for r in results)}


def _print(rows: list[dict]) -> None:
    print(f"{'pipeline':<44} {'wall s':>7} {'load s':>6} {'audio s/s':>9} {'peak RSS':>9} {'WER':>6} {'lines':>7}")
    for r in rows:
        print(f"{r['pipeline']:<44} {r['wall_s']:7.1f} {r['load_s']:6.1f} {r['speed']:8.1f}x "
              f"{r['peak_rss_mb']:6.0f} MB {r['wer']:5.1f}% {r['lines']:>7}")


# ---------------------------------------------------------------------------------------------------
# Ours vs whisper-ctranslate2 (issue 13, point 1)


def _timed(cmd: list[str]) -> float:
    began = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - began
    if out.returncode not in (0, 3):
        raise SystemExit(f"{cmd[0]} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return took


def _peer_command() -> list[str]:
    """The peer CLI: ``$WHISPER_CTRANSLATE2`` when set (e.g. a separate venv's ``bin/whisper-ctranslate2``), else
    the one beside this interpreter, else the one on PATH."""
    given = os.environ.get("WHISPER_CTRANSLATE2")
    if given:
        if not Path(given).is_file():
            raise SystemExit(f"WHISPER_CTRANSLATE2={given}: no such file")
        return [given]
    exe = Path(sys.executable).parent / "whisper-ctranslate2"
    if not exe.exists():
        found = shutil.which("whisper-ctranslate2")
        if not found:
            raise SystemExit("whisper-ctranslate2 is not installed here: pip install whisper-ctranslate2")
        exe = Path(found)
    return [str(exe)]


def _peer_texts(out: Path, files: list[Path]) -> dict[str, str]:
    return {str(f): json.loads((out / f"{f.stem}.json").read_text("utf-8"))["text"] for f in files}


def _our_texts(db: Path) -> tuple[dict[str, str], dict[str, str]]:
    from compliance.history.store import Store

    everything, manager = {}, {}
    with Store(db) as store:
        for call in store.calls():
            segments = sorted(call.transcript.segments, key=lambda s: s.start)
            everything[call.file] = " ".join(s.text for s in segments)
            manager[call.file] = " ".join(s.text for s in segments if s.speaker == "manager")
    return everything, manager


def _wer(refs: dict[str, str], hyps: dict[str, str]) -> float:
    from rapidfuzz.distance import Levenshtein

    errors = words = 0
    for f, ref_text in refs.items():
        ref, hyp = _plain_text(ref_text), _plain_text(hyps.get(f, ""))
        errors += Levenshtein.distance(ref, hyp)
        words += len(ref)
    return 100 * errors / max(words, 1)


def _speaker_wer(turns_by_file: dict[str, list[dict]], hyps: dict[str, str], speaker: str) -> float:
    """WER on one party's words of a transcript that mixes both (the peer's): the hypothesis is aligned to the
    whole reference (words tagged with who said them); substitutions and deletions count for the speaker of
    the reference word, an insertion for the speaker of the reference word before it."""
    from rapidfuzz.distance import Levenshtein

    errors = words = 0
    for f, turns in turns_by_file.items():
        ref, tags = [], []
        for t in sorted(turns, key=lambda t: t["start"]):
            said = _plain_text(t["text"])
            ref += said
            tags += [t["speaker"]] * len(said)
        words += tags.count(speaker)
        for op in Levenshtein.editops(ref, _plain_text(hyps.get(f, ""))):
            at = op.src_pos if op.tag != "insert" else max(op.src_pos - 1, 0)
            errors += bool(tags) and tags[min(at, len(tags) - 1)] == speaker
    return 100 * errors / max(words, 1)


def _peer_corpus(folder: Path, check: bool = False) -> tuple[list[Path], dict[str, list[dict]], float]:
    """The spoken calls of ``make_bench_audio`` plus the fixture calls (two stereo, one mono mix), named as a
    recorder names them under ``folder/DATE/MANAGER/``; returns the files, each one's turns, the audio seconds."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_make_bench_audio", ROOT / "benchmarks" / "make_bench_audio.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    spoken, calls = module.bench_calls(check=check)
    sources = [(spoken / name, meta) for name, meta in calls.items()]
    if not check:
        sources += [(AUDIO / n, MANIFEST[n]) for n in ("call_full.stereo.ogg", "call_missing.stereo.ogg",
                                                       "call_full.mono.mp3")]
    return recorder_day(folder, sources)


def recorder_day(folder: Path, sources: list[tuple[Path, dict]], suffix=lambda source: "".join(source.suffixes)
                 ) -> tuple[list[Path], dict[str, list[dict]], float]:
    """Copies of ``sources`` named as a recorder names them under ``folder/DATE/MANAGER/`` (three managers in turn);
    returns the files, each one's turns, the audio seconds."""
    files, turns, seconds = [], {}, 0.0
    for i, (source, meta) in enumerate(sources):
        manager = ("ivanova", "petrov", "sidorova")[i % 3]
        target = folder / "2026-11-27" / manager / f"2026-11-27_{9 + i // 4:02d}-{(i * 7) % 60:02d}-00_{manager}_" \
                                                  f"38099{1000000 + i:07d}{suffix(source)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        files.append(target)
        turns[str(target)] = meta["turns"]
        seconds += meta["duration"]
    return files, turns, seconds


def peer_comparison(repeat: int, check: bool = False) -> None:
    from compliance.speech.model import assemble_default_model

    peer = _peer_command()
    model = str(assemble_default_model())
    with tempfile.TemporaryDirectory(prefix="transcribe-bench-") as tmp_name:
        tmp = Path(tmp_name)
        files, turns, seconds = _peer_corpus(tmp / "day", check)
        said = {f: sorted(t, key=lambda t: t["start"]) for f, t in turns.items()}
        refs_all = {f: " ".join(t["text"] for t in ts) for f, ts in said.items()}
        stereo = {f: ts for f, ts in said.items() if ".stereo." in f}
        refs_manager = {f: " ".join(t["text"] for t in ts if t["speaker"] == "manager") for f, ts in stereo.items()}
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"corpus: {len(files)} recordings ({len(stereo)} stereo), {seconds:.0f} s ({seconds / 60:.1f} min) "
              f"of audio; {cores} cores")
        times: dict[str, list[float]] = {"peer": [], "ours": []}
        for k in range(repeat):  # alternate, keep each one's fastest run: other load only slows down
            out = tmp / f"peer{k}"
            times["peer"].append(_timed([*peer, *map(str, files), "--model_directory", model, "--device", "cpu",
                                         "--compute_type", "int8", "--batched", "True", "--language", "ru",
                                         "--output_format", "json", "--output_dir", str(out), "--verbose", "False"]))
            times["ours"].append(_timed([sys.executable, "-c", "from compliance.cli import main; main()", "batch",
                                         str(tmp / "day"), "--db", str(tmp / f"ours{k}.db"), "--cache-dir",
                                         str(tmp / f"cache{k}"), "--json"]))
        ours_all, ours_manager = _our_texts(tmp / "ours0.db")
        peer_texts = _peer_texts(tmp / "peer0", files)
        rows = [("whisper-ctranslate2 --batched True (one mixed channel)", min(times["peer"]),
                 _wer(refs_all, peer_texts), _speaker_wer(stereo, peer_texts, "manager")),
                ("compliance batch (parties apart, scored, stored)", min(times["ours"]), _wer(refs_all, ours_all),
                 _wer(refs_manager, ours_manager))]
        print(f"{'pipeline':<56} {'wall s':>7} {'audio s/s':>9} {'WER all':>8} {'WER manager':>12}")
        for name, wall, wer_all, wer_manager in rows:
            print(f"{name:<56} {wall:7.1f} {seconds / wall:8.1f}x {wer_all:7.1f}% {wer_manager:11.1f}%")
        print(f"ratio ours/peer (audio seconds per wall second): {rows[0][1] / rows[1][1]:.2f}x (target >= 1.0x); "
              f"runs: peer {', '.join(f'{t:.1f}' for t in times['peer'])} s, "
              f"ours {', '.join(f'{t:.1f}' for t in times['ours'])} s; run by run (each pair side by side): "
              f"{', '.join(f'{p / o:.2f}x' for p, o in zip(times['peer'], times['ours']))}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="compare with plain faster-whisper in one process")
    parser.add_argument("--sweep", action="store_true", help="with --plain: our pipeline under other settings")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each pipeline; the fastest counts")
    parser.add_argument("--set", choices=["bench", "check"], default="bench",
                        help="check: twelve other spoken calls (make_bench_audio.py --check), no fixture calls")
    parser.add_argument("--worker", choices=["plain", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.files, json.loads(args.settings)), ensure_ascii=False))
        return 0
    if not args.plain:
        peer_comparison(args.repeat, args.set == "check")
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        corpus = build_corpus(Path(tmp))
        files = list(corpus)
        audio_s = sum(m["duration"] for m in corpus.values())
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        print(f"corpus: {len(files)} recordings, {audio_s:.0f} s ({audio_s / 60:.1f} min) of audio; {cores} cores")
        runs: dict[str, list[dict]] = {"plain": [], "ours": []}
        for _ in range(args.repeat):  # alternate, keep each one's fastest run: other load only slows down
            runs["plain"].append(_run("plain", files))
            runs["ours"].append(_run("ours", files))
        plain = _row("plain faster-whisper (defaults, sequential)", _best(runs["plain"]), audio_s, corpus)
        ours = _row("ours (TranscribeOptions defaults)", _best(runs["ours"]), audio_s, corpus)
        rows = [plain, ours]
        if args.sweep:
            for name, settings in SWEEP.items():
                if settings:
                    best = _best([_run("ours", files, settings) for _ in range(args.repeat)])
                    rows.append(_row(f"ours: {name}", best, audio_s, corpus))
        _print(rows)
        print(f"ratio ours/plain (audio seconds per wall second): {ours['speed'] / plain['speed']:.2f}x "
              f"(target >= 1.5x); peak RSS {ours['peak_rss_mb']:.0f} MB vs {plain['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
