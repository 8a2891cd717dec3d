"""A mono_bench run diarized again from its cached words: the diarizer's figures in seconds, without recognition.

mono_bench keeps each file's recognised words in its run cache (``cache_root()/mono-bench-run[-NAME]/FORMAT/STEM``).
Here every mono file's words are split again by the diarizer as it is now, against the same decoded audio, and the
call assembled and scored as the pipeline does: DER (collar 0.25 s), the manager found, the «говорящие не
разделены» flag, stage F1 and traps. The flag is read against the split: a two-voice call whose split is sound (DER
≤ ``SOUND`` and the manager found) needs no flag; one whose split is not sound must carry it. Then the one-voice
case: each channel of the stereo file alone (one person), diarized from that channel's cached words; a channel
called two voices without a flag would lose a party's words to the other.

Recognition is mono_bench's, so run it first on the set; the words are those of the code that ran it.

    python benchmarks/mono_replay.py [--set festival|rhvoice-dev|rhvoice-heldout|rhvoice-heldout7|rhvoice-heldout8
                                      |rhvoice-heldout9] [--calls]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diarize_bench import der  # noqa: E402
from make_bench_audio import _make_audio_module  # noqa: E402
from make_mono_audio import blind_calls, mono_calls, rhvoice_calls  # noqa: E402
from mono_bench import _manager_found, _score, _speaker_spans, _talk_gap, _Tally, _worst  # noqa: E402

from compliance.resources import cache_root, default_script_path  # noqa: E402
from compliance.scoring.script_file import load_script  # noqa: E402
from compliance.speech.assemble import assemble_transcript  # noqa: E402
from compliance.speech.cache import _Recognised  # noqa: E402
from compliance.speech.decode import decode_audio  # noqa: E402
from compliance.speech.engine import TranscribeOptions  # noqa: E402
from compliance.speech.parties import diarize_channel  # noqa: E402

SOUND = 0.10  # a split with at most this DER (and the manager found) is sound: a flag on it is needless


def _cached(run: Path, fmt: str, stem: str) -> _Recognised | None:
    entries = sorted((run / fmt / stem).glob("*.json"))
    return _Recognised.model_validate_json(entries[-1].read_bytes()) if entries else None


def _two_voices(folder: Path, manifest: dict, run: Path, script, options, show: bool) -> dict:
    """Each mono call re-diarized: per format, the tally and how the flag falls against the split."""
    out: dict[str, dict] = {}
    stems = sorted({f.rsplit(".", 2)[0] for f, m in manifest.items() if m["kind"] == "call"})
    for fmt in ("mono.wav", "mono.mp3"):
        tally, sound, unsound, flagged_sound, flagged_unsound = _Tally(), 0, 0, 0, 0
        for stem in stems:
            entry, recognised = manifest[f"{stem}.{fmt}"], _cached(run, fmt, stem)
            if recognised is None:
                continue
            audio = decode_audio(folder / f"{stem}.{fmt}").channels[0]
            recognised.diarization = diarize_channel(audio, recognised.channels[0])
            transcript = assemble_transcript(recognised, stem, options, script)
            flagged = _score(tally, entry, transcript, script)
            stereo, gap = _cached(run, "stereo.wav", stem), ""
            if stereo is not None and transcript.talk is not None:
                talk = assemble_transcript(stereo, stem, options, script).talk
                if talk is not None:
                    tally.talk.append(_talk_gap(transcript.talk, talk))
                    if not flagged:
                        tally.talk_sure.append(tally.talk[-1])
                    gap = "talk gap " + " / ".join(f"{v:.1f}" for v in tally.talk[-1])
            turns = [t for t in entry["turns"] if t["speaker"] in ("manager", "client")]
            error = der(turns, _speaker_spans(transcript), entry["duration"])
            found = _manager_found(transcript, turns)
            tally.ders.append(error)
            tally.found += found
            whole = not transcript.speakers_known
            tally.whole += whole
            if not whole:
                tally.ders_split.append(error)
            good = error <= SOUND and found
            sound += good
            unsound += not good
            flagged_sound += good and flagged
            flagged_unsound += (not good) and flagged
            d = recognised.diarization
            if show:
                print(f"  {stem:<44} {fmt:<9} {'/'.join(entry['voices']):<22} DER {error * 100:5.1f} %  "
                      f"voices {d.voices}  sep {d.separation:5.2f}  contrast {d.contrast or 0:5.2f} {d.pieces}  "
                      f"found {'yes' if found else 'NO '}  {gap}  {'FLAGGED' if flagged else ''}")
        out[fmt] = {"tally": tally, "sound": sound, "unsound": unsound, "flagged_sound": flagged_sound,
                    "flagged_unsound": flagged_unsound}
    return out


def _one_voice(folder: Path, manifest: dict, run: Path, show: bool) -> dict[str, dict[str, int]]:
    """Each stereo channel alone (8 kHz μ-law as it is, and re-encoded as 32 kbps mp3), diarized from its own cached
    words: one voice, two flagged, or two trusted (a lost party)."""
    make = _make_audio_module()
    counts = {fmt: {"one": 0, "one, flagged": 0, "two, flagged": 0, "two, trusted": 0} for fmt in ("mono.wav", "mono.mp3")}
    with tempfile.TemporaryDirectory() as tmp:
        for name, entry in sorted(manifest.items()):
            if entry["kind"] != "call" or not name.endswith(".stereo.wav"):
                continue
            recognised = _cached(run, "stereo.wav", name.rsplit(".", 2)[0])
            if recognised is None or len(recognised.channels) != 2:
                continue
            for k, channel in enumerate(decode_audio(folder / name).channels):
                target = Path(tmp) / "alone.mp3"
                make.encode(channel[None, :], target, "libmp3lame", 8000, 32000)
                for fmt, audio in (("mono.wav", channel), ("mono.mp3", decode_audio(target).channels[0])):
                    d = diarize_channel(audio, recognised.channels[k])
                    kind = ("one" if d.confident else "one, flagged") if d.voices < 2 else \
                        ("two, trusted" if d.confident else "two, flagged")
                    counts[fmt][kind] += 1
                    if show:
                        print(f"  one voice {name:<38} ch{k} {fmt:<9} sep {d.separation:5.2f}  "
                              f"contrast {d.contrast or 0:5.2f} {d.pieces}  {kind}")
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="rhvoice-dev",
                        choices=["festival", "rhvoice-dev", "rhvoice-heldout", "rhvoice-heldout7",
                                 "rhvoice-heldout8", "rhvoice-heldout9", "rhvoice-heldout10",
                                 "rhvoice-heldout11", "rhvoice-heldout12", "rhvoice-heldout13"])
    parser.add_argument("--calls", action="store_true", help="a line per call")
    args = parser.parse_args(argv)
    if args.set == "festival":
        folder, manifest = mono_calls()
        run = cache_root() / "mono-bench-run"
    else:
        folder, manifest = (blind_calls(args.set.removeprefix("rhvoice-")) if args.set.startswith("rhvoice-heldout")
                            and args.set != "rhvoice-heldout" else rhvoice_calls())
        part = args.set.split("-")[1]
        manifest = {f: m for f, m in manifest.items() if m.get("part") == part}
        run = cache_root() / f"mono-bench-run-{args.set}"
    script = load_script(default_script_path())
    options = TranscribeOptions(language=script.language)
    two = _two_voices(folder, manifest, run, script, options, args.calls)
    one = _one_voice(folder, manifest, run, args.calls)
    print(f"\n{args.set}: re-diarized from {run}")
    print(f"{'':<34}{'mono 8k μ-law':>16}{'mono 32k mp3':>16}")
    rows = [
        ("calls", lambda r: f"{r['tally'].calls}"),
        ("DER mean / worst", lambda r: f"{sum(r['tally'].ders) / max(len(r['tally'].ders), 1) * 100:.1f} / "
                                       f"{max(r['tally'].ders or [0]) * 100:.1f} %"),
        ("… calls split in two (n)", lambda r: f"{sum(r['tally'].ders_split) / max(len(r['tally'].ders_split), 1) * 100:.1f}"
                                                f" % ({len(r['tally'].ders_split)})"),
        ("scored on all words", lambda r: f"{r['tally'].whole}"),
        ("manager found", lambda r: f"{r['tally'].found}/{r['tally'].calls}"),
        ("stage F1 (TP/FP/FN)", lambda r: f"{r['tally'].f1():.3f} ({r['tally'].tp}/{r['tally'].fp}/{r['tally'].fn})"),
        ("client phrases charged", lambda r: f"{r['tally'].client_charged}"),
        ("traps credited", lambda r: f"{r['tally'].traps_credited}/{r['tally'].traps}"),
        ("talk share vs stereo, worst", lambda r: _worst(r["tally"].talk, 0, " pts")),
        ("… of calls not flagged", lambda r: _worst(r["tally"].talk_sure, 0, " pts")),
        ("monologue / interruptions, worst", lambda r: f"{_worst(r['tally'].talk, 1, ' s')} / "
                                                       f"{_worst(r['tally'].talk, 2, '')}"),
        ("flagged, split sound", lambda r: f"{r['flagged_sound']}/{r['sound']}"),
        ("flagged, split not sound", lambda r: f"{r['flagged_unsound']}/{r['unsound']}"),
    ]
    for name, show in rows:
        print(f"{name:<34}" + "".join(f"{show(two[fmt]):>16}" for fmt in ("mono.wav", "mono.mp3")))
    for fmt, found in one.items():
        print(f"one voice (a stereo channel alone, {fmt}): " + ", ".join(f"{k} {v}" for k, v in found.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
