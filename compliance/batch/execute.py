"""Where a batch's work runs: recordings on a Dask cluster or in a pool of worker processes (each loading the
model once), transcripts and re-scores in a pool of scorers or right here. Results come back to the batch
(``_Run._save``), the only writer of the history."""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from typing import TYPE_CHECKING, Optional

from compliance.files import shown_path

from .cluster import run_on_cluster
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

    def _scripts_json(self, jobs: list[_Job]) -> list[str]:
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

    def _execute(self, audio: list[_Job], local: list[_Job]) -> None:
        """Transcribe recordings in worker processes (scoring the rest here meanwhile), or score many
        transcripts/re-scores in a pool of scorers, or a few right here."""
        scripts_json = self._scripts_json(audio + local)
        self._seed = self._phrasing_vectors()
        cache_dir = str(self.o.cache_dir) if self.o.cache_dir else None
        if audio:
            try:
                options = self.tx.options
            except Exception as exc:  # noqa: BLE001 - the speech stack itself is unusable
                for job in audio:
                    self._fail(shown_path(job.path), "audio", f"cannot transcribe ({exc})", job.content_hash)
                audio = []
        if audio and self.cluster is not None:  # recordings to Dask; the rest scored here while it works
            run_on_cluster(self, audio, self.cluster, scripts_json, options.model_dump_json(), cache_dir,
                           meanwhile=lambda: self._score_here(local, scripts_json, cache_dir), seed=self._seed)
            return
        if not audio and (len(local) < POOL_MIN_CALLS or (os.cpu_count() or 1) < 2 or self.o.workers == 1):
            self._score_here(local, scripts_json, cache_dir)
            return
        workers = _pool_size(self.o.workers, len(audio) or len(local))
        options_json = None
        share = max(1, (os.cpu_count() or 1) // workers)  # each worker's cores
        if audio:
            if "threads" in type(options).model_fields and not getattr(options, "threads", None):
                options = options.model_copy(update={"threads": share})
            options_json = options.model_dump_json()
        init = (scripts_json, options_json, cache_dir, share, self._seed)
        pending = _longest_first(audio) if audio else list(local)
        delivered = False
        local_done = not audio  # without recordings, the local jobs are the pool's work
        for _attempt in range(2):
            pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_init_worker, initargs=init)
            try:
                futures = {pool.submit(_work, self._task(j)): j for j in pending}
                if not local_done:  # the workers are busy transcribing: score transcripts here meanwhile
                    local_done = True
                    self._score_here(local, scripts_json, cache_dir)
                pending, got = self._collect(futures)
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
        if not delivered:
            self._in_process(pending + ([] if local_done else local), scripts_json, options_json, cache_dir)
            return
        for job in pending:
            self._save(job, _Done(False, "the worker process died (out of memory or a crash)", "audio"
                                  if job.kind == "audio" else "score"))

    def _score_here(self, jobs: list[_Job], scripts_json: list[str], cache_dir: Optional[str]) -> None:
        _setup(scripts_json, None, cache_dir, seed=self._seed)
        for job in jobs:
            self._save(job, _work(self._task(job)))

    def _in_process(self, jobs: list[_Job], scripts_json: list[str], options_json: Optional[str],
                    cache_dir: Optional[str]) -> None:
        """No worker could start or deliver (a model that does not load, a ``__main__`` read from stdin):
        do the work here, or fail the recordings with the real reason."""
        try:
            _setup(scripts_json, options_json if any(j.kind == "audio" for j in jobs) else None, cache_dir,
                   seed=self._seed)
        except Exception as exc:  # noqa: BLE001 - reported per recording, the transcripts still go on
            for job in [j for j in jobs if j.kind == "audio" and j.action == "analyse"]:
                self._fail(shown_path(job.path), "audio", f"cannot transcribe ({exc})", job.content_hash)
            jobs = [j for j in jobs if not (j.kind == "audio" and j.action == "analyse")]
            _setup(scripts_json, None, cache_dir, seed=self._seed)
        for job in jobs:
            self._save(job, _work(self._task(job)))

    def _collect(self, futures: dict[cf.Future, _Job]) -> tuple[list[_Job], bool]:
        """Save results as they come; returns the jobs left unfinished by a dead pool, and whether any
        result came back."""
        unfinished: list[_Job] = []
        delivered = False
        for future in cf.as_completed(futures):
            job = futures[future]
            try:
                done = future.result()
            except cf.process.BrokenProcessPool:
                unfinished.append(job)
                continue
            except Exception as exc:  # noqa: BLE001 - e.g. the model failed to load in the initializer
                done = _Done(False, f"{type(exc).__name__}: {exc}", "audio" if job.kind == "audio" else "score")
            delivered = True
            self._save(job, done)
        return unfinished, delivered
