"""Where a batch's work runs: recordings on a Dask cluster or on threads of this process (one loaded model),
transcripts and re-scores in a pool of scorer processes or right here. Results come back to the batch
(``_Run._save``), the only writer of the history."""
from __future__ import annotations

import concurrent.futures as cf
import itertools
import multiprocessing
import os
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional

from compliance.files import shown_path
from compliance.text.catalogue import say
from compliance.text.third_party import internal_error

from .cluster import run_on_cluster
from .spill import Jobs, Lane
from .workers import (
    POOL_MIN_CALLS,
    _Done,
    _init_worker,
    _longest_first,
    _pool_size,
    _setup,
    _Task,
    _terminate,
    _work,
)

if TYPE_CHECKING:
    from compliance.history.store import Store
    from compliance.scoring.script import SalesScript

    from .cluster import ClusterSpec
    from .models import BatchOptions
    from .plan import _Job, _Transcription


class _Executes:
    """The execution half of a batch run (``batch.run._Run``), split out by concern."""

    o: BatchOptions
    tx: _Transcription
    cluster: Optional[ClusterSpec]
    store: Store
    by_hash: dict[str, SalesScript]
    _seed: bytes = b""

    def _scripts_json(self) -> list[str]:
        raise NotImplementedError

    def _task(self, job: _Job) -> _Task:
        raise NotImplementedError

    def _save(self, job: _Job, done: _Done) -> None:
        raise NotImplementedError

    def _fail(self, file: str, kind: str, reason: str, call_id: Optional[str] = None) -> None:
        raise NotImplementedError

    def _phrasing_vectors(self) -> bytes:
        """The vectors of every script phrasing (lines, team examples, background), packed for the workers.
        Kept in the history by text hash: only a new or edited phrasing is embedded (here, once), never all
        of them in every worker on every run."""
        from compliance.scoring.embeddings import MODEL_ID, load_embedder, pack_vectors
        from compliance.scoring.semantic import prototype_texts
        from compliance.scoring.vector_cache import embed_cached

        texts = sorted({t for script in self.by_hash.values() for t in prototype_texts(script)})
        known = self.store.load_embeddings(MODEL_ID, texts)
        missing = [t for t in texts if t not in known]
        embedder = load_embedder() if missing else None
        if embedder is not None:
            made = dict(zip(missing, embed_cached(embedder, missing)))
            self.store.save_embeddings(MODEL_ID, made)
            known.update(made)
        return pack_vectors(known)

    def _execute(self, audio: Jobs, local: Jobs) -> None:
        """Transcribe recordings on threads of this process (scoring the rest here meanwhile) or on a Dask
        cluster, or score many transcripts/re-scores in a pool of scorer processes, or a few right here."""
        scripts_json = self._scripts_json()
        self._seed = self._phrasing_vectors()
        cache_dir = str(self.o.cache_dir) if self.o.cache_dir else None
        if audio:
            try:
                options = self.tx.options
            except Exception as exc:  # noqa: BLE001 - the speech stack itself is unusable
                for job in audio:
                    self._fail(shown_path(job.path), "audio", say("err.batch.cannot_transcribe", why=exc),
                               job.content_hash)
                audio = []
        if audio and self.cluster is not None:  # recordings to Dask; the rest scored here while it works
            run_on_cluster(self, list(audio), self.cluster, scripts_json, options.model_dump_json(), cache_dir,
                           meanwhile=lambda: self._score_here(local, scripts_json, cache_dir), seed=self._seed)
            return
        if not audio and (len(local) < POOL_MIN_CALLS or (os.cpu_count() or 1) < 2 or self.o.workers == 1):
            self._score_here(local, scripts_json, cache_dir)
            return
        workers = _pool_size(self.o.workers, len(audio) or len(local))
        if audio:
            self._in_threads(audio, local, scripts_json, options, cache_dir, workers)
            return
        share = max(1, (os.cpu_count() or 1) // workers)  # each scorer's cores (the meaning model's threads)
        init = (scripts_json, None, cache_dir, share, self._seed)
        pending, delivered = _Pending(local), False
        for _attempt in range(2):
            pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_init_worker, initargs=init)
            try:
                pending, got = _Window(self, pool, pending, WINDOW_PER_WORKER * workers).drain()
                delivered = delivered or got
            except cf.process.BrokenProcessPool:
                pass  # broke at submit (a worker could not even start): nothing ran
            except BaseException as exc:
                _terminate(pool)
                # A worker killed while sending its result leaves half a message in the pool's pipe: the pool's
                # manager thread then waits for the rest forever and the interpreter's exit joins it. The
                # caller must leave with os._exit once it has said what it has to (the store is committed).
                exc.pool_terminated = True  # type: ignore[attr-defined]
                raise
            pool.shutdown(wait=True)
            if not pending:
                return
            if not delivered:
                break
        if not delivered:  # no scorer could start or deliver (a ``__main__`` read from stdin): score here
            self._score_here(pending, scripts_json, cache_dir)
            return
        for job in pending:
            self._save(job, _Done(False, "the worker process died (out of memory or a crash)", "score"))

    def _in_threads(self, audio: Jobs, local: Jobs, scripts_json: list[str], options: Any,
                    cache_dir: Optional[str], workers: int) -> None:
        """Recordings on ``workers`` threads of this process sharing one loaded model, which decodes ``workers``
        recordings at once, each on its share of the cores (CTranslate2's own threads, without the GIL), as the
        worker processes did: the same thread count per decode, so the same words. Transcripts are scored here
        meanwhile, every result saved here.

        Measured on 2 loaded cores (3 stereo calls, 182 s): a worker process per core took 63–88 s, this 59–66 s;
        the processes paid, each, a fresh interpreter, the imports, both models' loads and the transcripts
        pickled back. One decode at a time on both cores took 48–55 s there, but its words differ from the
        one-core decodes on some calls (the Dask workers' too), so it is not the default."""
        share = max(1, (os.cpu_count() or 1) // workers)
        if workers > 1:  # one recording alone gets a replica per core all the same (speech.engine.load_model)
            options = options.model_copy(update={"parallel": workers, "threads": options.threads or share})
        try:
            _setup(scripts_json, options.model_dump_json(), cache_dir, options.threads, self._seed)
        except Exception as exc:  # noqa: BLE001 - the model does not load: each recording says why
            for job in audio:
                self._fail(shown_path(job.path), "audio", say("err.batch.cannot_transcribe", why=exc), job.content_hash)
            self._score_here(local, scripts_json, cache_dir)
            return
        pool = cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recognise")
        try:
            ordered = audio if isinstance(audio, Lane) else _longest_first(list(audio))  # a plan's lane is, already
            window = _Window(self, pool, ordered, WINDOW_PER_WORKER * workers)
            self._score_here(local, scripts_json, cache_dir, between=window.harvest, loaded=True)
            window.drain()
        except BaseException as exc:
            # Ctrl-C: what is queued is dropped; a recording being decoded cannot be stopped from here, so the
            # caller leaves with os._exit once it has said what it has to (every saved call is committed).
            pool.shutdown(wait=False, cancel_futures=True)
            exc.pool_terminated = True  # type: ignore[attr-defined]
            raise
        pool.shutdown(wait=True)

    def _score_here(self, jobs: Iterable[_Job], scripts_json: list[str], cache_dir: Optional[str],
                    between: Optional[Callable[[], None]] = None, loaded: bool = False) -> None:
        if not loaded:  # else this process's models are set up already (and in use on other threads)
            _setup(scripts_json, None, cache_dir, seed=self._seed)
        for job in jobs:
            self._save(job, _work(self._task(job)))
            if between is not None:  # keep the workers fed meanwhile
                between()

    def _result(self, job: _Job, future: cf.Future) -> Optional[_Done]:
        """The job's result (None: its worker died with the pool), a worker's exception as a failure."""
        try:
            return future.result()
        except cf.process.BrokenProcessPool:
            return None
        except Exception as exc:  # noqa: BLE001 - e.g. the model failed to load in the initializer
            return _Done(False, internal_error(exc), "audio" if job.kind == "audio" else "score")


# Jobs in flight per worker: enough to keep every worker busy, few enough that the main process holds a bounded
# number of tasks (a re-score carries its stored transcript) and results, whatever the number of files.
WINDOW_PER_WORKER = 4


class _Window:
    """Jobs submitted to the pool a window at a time; each result saved as it comes and its future dropped."""

    def __init__(self, run: _Executes, pool: cf.Executor, jobs: Iterable[_Job], size: int) -> None:
        self.run, self.pool, self.size = run, pool, max(1, size)
        self.waiting = jobs if isinstance(jobs, _Pending) else _Pending(jobs)  # read as needed, not all at once
        self.futures: dict[cf.Future, _Job] = {}
        self.unfinished: list[_Job] = []
        self.delivered = self.broken = False
        self._fill(first=True)

    def _fill(self, first: bool = False) -> None:
        while self.waiting and not self.broken and len(self.futures) < self.size:
            job = self.waiting.peek()
            try:
                self.futures[self.pool.submit(_work, self.run._task(job))] = job
            except cf.process.BrokenProcessPool:
                if first and not self.futures:
                    raise  # broke at the first submit (a worker could not even start): nothing ran
                self.broken = True
                return
            next(self.waiting)

    def _take(self, done: set[cf.Future]) -> None:
        for future in done:
            job = self.futures.pop(future)
            result = self.run._result(job, future)
            if result is None:
                self.unfinished.append(job)
                self.broken = True
                continue
            self.delivered = True
            self.run._save(job, result)
        self._fill()

    def harvest(self) -> None:
        """Save what has finished, without waiting, and submit more."""
        self._take({f for f in self.futures if f.done()})

    def drain(self) -> tuple[_Pending, bool]:
        """Wait for every job; returns those a dead pool left unfinished, and whether any result came back."""
        while self.futures:
            done, _ = cf.wait(self.futures, return_when=cf.FIRST_COMPLETED)
            self._take(done)
        return _Pending(itertools.chain(self.unfinished, self.waiting)), self.delivered


class _Pending:
    """Jobs still to run, taken one at a time from a list or a plan's lane on disk (``peek`` looks at the next)."""

    _NONE: Any = object()

    def __init__(self, jobs: Iterable[_Job]) -> None:
        self._jobs: Iterator[_Job] = iter(jobs)
        self._head: Any = self._NONE

    def peek(self) -> _Job:
        if self._head is self._NONE:
            self._head = next(self._jobs, self._NONE)
        if self._head is self._NONE:
            raise IndexError("no job is waiting")
        return self._head

    def __bool__(self) -> bool:
        try:
            self.peek()
        except IndexError:
            return False
        return True

    def __iter__(self) -> Iterator[_Job]:
        return self

    def __next__(self) -> _Job:
        if not self:
            raise StopIteration
        head, self._head = self._head, self._NONE
        return head
