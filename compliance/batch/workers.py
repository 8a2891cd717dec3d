"""A batch's unit of work, one file transcribed or read and scored (``_work``), wherever it runs: on a thread of
the batch around its one loaded model, in a scorer process, on a Dask worker; each sets up its models once."""
from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

from compliance.errors import ComplianceError
from compliance.pipeline import analyse_file, failure_kind
from compliance.scoring.scorer import MatchOptions
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.text import catalogue
from compliance.text.third_party import internal_error

_STATE: dict[str, Any] = {}


POOL_MIN_CALLS = 40  # fewer transcripts/re-scores than this are scored in the main process


def _setup(scripts_json: list[str], options_json: Optional[str], cache_dir: Optional[str], threads: int = 0,
           seed: bytes = b"") -> None:
    """Load the scripts (and the speech model when there are recordings); ``threads``: this process's share of
    the cores, for the meaning model (the speech model's is in the options); ``seed``: the scripts' phrasings
    already embedded (packed), so this process does not embed them again."""
    from compliance.scoring.embeddings import use_threads

    _STATE.clear()
    scripts = [SalesScript.model_validate_json(js) for js in scripts_json]
    _STATE.update(scripts={sc.content_hash(): sc for sc in scripts}, cache_dir=cache_dir, model=None,
                  options=None)
    options = None
    if options_json is not None:
        from compliance.speech.transcribe import TranscribeOptions

        options = TranscribeOptions.model_validate_json(options_json)
        threads = threads or options.threads
    use_threads(threads)  # before the meaning model loads: it takes its thread count then
    if options is None:
        _remember(seed)
        return
    from compliance.scoring.embeddings import load_embedder_in_background
    from compliance.speech.transcribe import load_model

    # The two models load side by side: the meaning model (and the seed) on a thread, Whisper here.
    meaning = load_embedder_in_background(lambda _: _remember(seed))
    try:
        _STATE.update(options=options, model=load_model(options))
    finally:
        meaning.join()


def _remember(seed: bytes) -> None:
    """Give this process's meaning model the vectors the batch already has (the scripts' phrasings)."""
    if seed:
        from compliance.scoring.embeddings import load_embedder, unpack_vectors

        embedder = load_embedder()
        if embedder is not None:
            embedder.remember(unpack_vectors(seed))


def _die_with_parent() -> None:
    """A worker whose batch is killed (kill -9, OOM) must not live on holding ~0.5 GB: the kernel sends it
    SIGKILL when its parent dies (Linux), and a watchdog thread checks the parent elsewhere."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def _init_worker(scripts_json: list[str], options_json: Optional[str], cache_dir: Optional[str],
                 threads: int = 0, seed: bytes = b"") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent()
    _setup(scripts_json, options_json, cache_dir, threads, seed)


@dataclass
class _Task:
    path: str
    kind: str                                   # audio | transcript | chat
    stored: Optional[str]                       # the stored transcript JSON (re-score), else None
    script: Optional[str]                       # script content hash; None: choose among the candidates
    candidates: list[str]
    level: str
    vectors: bytes = b""                        # stored sentence embeddings of that transcript (packed)
    part: Optional[str] = None                  # the chat of a many-chat export
    names: list[str] = field(default_factory=list)  # the managers' chat names
    voice: list[float] = field(default_factory=list)  # the manager's enrolled voice print (one-channel calls)
    bands: dict = field(default_factory=dict)   # the team's bands for the manager (``SalesScript.band``)
    match: Optional[str] = None                 # the matcher's options (JSON) when not the defaults (analyze)
    lang: str = field(default_factory=catalogue.current)   # the run's language: a worker's errors speak it too


@dataclass
class _Done:
    ok: bool
    error: str = ""
    error_kind: str = ""
    transcript_json: str = ""
    result_json: str = ""
    script: str = ""                            # hash of the script used
    vectors: bytes = b""                        # the call's sentence embeddings, for the store (packed)


def _call_vectors(transcript: Transcript) -> bytes:
    """The sentence embeddings the meaning scorer made for this call, packed for the parent to store."""
    from compliance.scoring.embeddings import (
        load_embedder,
        pack_vectors,
        transcript_sentences,
    )

    embedder = load_embedder()
    return pack_vectors(embedder.known(transcript_sentences(transcript.segments))) if embedder else b""


def _work(task: _Task) -> _Done:
    with catalogue.speaking(task.lang):
        return _work_in(task)


def _work_in(task: _Task) -> _Done:
    if task.vectors:
        from compliance.scoring.embeddings import load_embedder, unpack_vectors

        embedder = load_embedder()
        if embedder is not None:
            embedder.remember(unpack_vectors(task.vectors))
    scripts = _STATE["scripts"]
    chosen = [scripts[task.script]] if task.script else [scripts[h] for h in task.candidates]
    try:
        stored = Transcript.model_validate_json(task.stored) if task.stored is not None else None
        match = MatchOptions.model_validate_json(task.match) if task.match else None
        analysis = analyse_file(Path(task.path), chosen, task.level, kind=task.kind, transcribe=_STATE["options"],
                                model=_STATE["model"], cache_dir=_STATE["cache_dir"], transcript=stored,
                                manager_names=task.names, part=task.part, voice=task.voice or None,
                                bands=task.bands or None, match=match)
        return _Done(True, transcript_json=task.stored or analysis.transcript.model_dump_json(),
                     result_json=analysis.result.model_dump_json(), script=analysis.script.content_hash(),
                     vectors=_call_vectors(analysis.transcript) if not task.vectors else b"")
    except ComplianceError as exc:
        return _Done(False, str(exc), failure_kind(exc, task.kind))
    except Exception as exc:  # noqa: BLE001 - one call's bug must not stop the batch
        return _Done(False, internal_error(exc), "audio" if task.kind == "audio" else "score")


def _longest_first(jobs: list[Any]) -> list[Any]:
    """Recordings, the longest first (their ``duration``, probed when the batch was planned): the short ones then
    fill the workers' ends, instead of one worker finishing a long call alone while the other cores idle."""
    return sorted(jobs, key=lambda job: job.duration, reverse=True)


def _pool_size(requested: Optional[int], jobs: int) -> int:
    cores = os.cpu_count() or 1
    return max(1, min(requested or cores, jobs))


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Stop at once (Ctrl-C): work in flight is redone next run."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _model_of(transcript_json: str) -> Optional[str]:
    # The model name is a top-level field; avoid parsing the whole transcript again for it.
    try:
        return json.loads(transcript_json).get("model")
    except ValueError:
        return None


def analyse_in_pool(paths: Sequence[Path], script: SalesScript, level: str, options: Any,
                    cache_dir: Optional[Path] = None, match: Optional[MatchOptions] = None,
                    workers: Optional[int] = None, bands: Optional[dict] = None) -> Iterator[tuple[Path, _Done]]:
    """Recordings analysed as a batch analyses them, without a history: ``compliance analyze`` over several files.
    One model, loaded here once (beside the meaning model), decodes ``workers`` recordings at once, each on its
    share of the cores, on as many threads (see ``batch.execute._Executes._in_threads``). Yields each path with
    its outcome, in the order given, as soon as it and those before it are done; the largest files go first.
    ``bands``: the team's bands for the manager (``SalesScript.band``).

    Raises:
        ModelError: the speech model does not load.
    """
    count = _pool_size(workers, len(paths))
    share = max(1, (os.cpu_count() or 1) // count)
    if count > 1:  # one recording alone gets a replica per core all the same (speech.engine.load_model)
        options = options.model_copy(update={"parallel": count, "threads": options.threads or share})
    _setup([script.model_dump_json()], options.model_dump_json(), str(cache_dir) if cache_dir else None,
           options.threads)
    match_json = match.model_dump_json() if match is not None else None
    pool = cf.ThreadPoolExecutor(max_workers=count, thread_name_prefix="recognise")
    try:
        futures: dict[Path, cf.Future] = {}
        for path in sorted(dict.fromkeys(paths), key=_size, reverse=True):
            futures[path] = pool.submit(_work, _Task(str(path), "audio", None, script.content_hash(), [], level,
                                                     bands=bands or {}, match=match_json))
        for path in paths:
            yield path, futures[path].result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
