"""Where one `compliance analyze` run spends its time, step by step (issue 26, point 2): wall and process CPU.

    python benchmarks/call_profile.py analyze CALL.ogg --json --cache-dir /tmp/empty-cache

Runs the command in this process with the pipeline's steps wrapped (model loads, audio decoding, VAD, the batched
decode with its encoder passes and word timestamps, the gap pass, cleaning, assembling, scoring) and prints each
step's wall and process-CPU seconds on stderr. Process CPU counts every thread (CTranslate2's too), so a step's
CPU includes what runs beside it (the meaning model loading on its thread). Give an empty ``--cache-dir``, or the
transcript comes from the cache. On a shared machine the CPU column is the steadier one.
"""
from __future__ import annotations

import collections
import functools
import sys
import threading
import time

_STEPS: dict[str, list[float]] = collections.defaultdict(lambda: [0.0, 0.0, 0])
_LOCK = threading.Lock()


def _wrap(owner, name: str, label: str) -> None:
    inner = getattr(owner, name)

    @functools.wraps(inner)
    def timed(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            with _LOCK:
                step = _STEPS[label]
                step[0] += time.perf_counter() - wall
                step[1] += time.process_time() - cpu
                step[2] += 1

    setattr(owner, name, timed)


def main() -> int:
    began, began_cpu = time.perf_counter(), time.process_time()
    import faster_whisper.transcribe as fw

    import compliance.pipeline as pipeline
    import compliance.scoring.embeddings as embeddings
    import compliance.speech.recognise as recognise
    import compliance.speech.transcribe as transcribe
    from compliance.cli import main as cli_main

    for owner, name, label in [
        (embeddings, "load_embedder", "meaning model load (waited for)"),
        (transcribe, "load_model", "Whisper load"),
        (transcribe, "decode_audio", "audio decoding"),
        (recognise, "_speech_regions", "VAD (per channel)"),
        (recognise, "_decoded_regions", "background stretches cut"),
        (fw.BatchedInferencePipeline, "transcribe", "features"),
        (fw.WhisperModel, "encode", "encoder passes"),
        (fw.BatchedInferencePipeline, "generate_segment_batched", "batched decode (encoder + beam search + words)"),
        (fw.WhisperModel, "add_word_timestamps", "word timestamps"),
        (recognise, "_decode_batched", "first pass"),
        (recognise, "_fill_gaps_batched", "gap pass (incl. its decode)"),
        (recognise, "_clean", "cleaning"),
        (recognise, "measure_channel", "channel quality"),
        (transcribe, "assemble_transcript", "transcript assembled"),
        (pipeline, "score_call", "scoring"),
    ]:
        _wrap(owner, name, label)
    imported = time.perf_counter() - began, time.process_time() - began_cpu
    sys.argv = ["compliance", *sys.argv[1:]]
    try:
        cli_main()
    except SystemExit:
        pass
    say = sys.stderr.write
    say(f"{'imports':48s} wall {imported[0]:6.2f} s  CPU {imported[1]:6.2f} s\n")
    for label, (wall, cpu, count) in _STEPS.items():
        say(f"{label:48s} wall {wall:6.2f} s  CPU {cpu:6.2f} s  ({count}×)\n")
    say(f"{'whole run':48s} wall {time.perf_counter() - began:6.2f} s  CPU {time.process_time() - began_cpu:6.2f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
