"""Many machines: a batch's recordings transcribed on a Dask cluster, the results stored here.

``--cluster tcp://HOST:8786`` sends the work to a running Dask scheduler; ``--cluster local:N`` starts a
``LocalCluster`` of N worker processes on this machine. What stays as in a local batch:

* the client (this process) is the only SQLite writer; each result is stored as it arrives, so progress,
  resume and Ctrl-C behave as in a local batch;
* each worker loads the speech model once (``ModelPlugin``: CTranslate2 models cannot be pickled) and sets
  its own thread count (Dask's nanny sets ``OMP_NUM_THREADS=1``, which would leave the model on one thread);
* recordings travel as bytes (workers need no shared folder), a bounded number at a time;
* a worker killed mid-run: the scheduler runs its files elsewhere; a file that kills workers repeatedly
  (``distributed.scheduler.allowed-failures``) is stored as failed and the batch goes on.

Dask is an optional extra: ``pip install "call-compliance[cluster]"``.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from compliance.errors import ComplianceError
from compliance.speech.engine import _cpu_count  # cores this process may use (its affinity)

from .workers import _Done, _setup, _Task, _work

if TYPE_CHECKING:
    from .plan import _Job

CLUSTER_HINT = 'the cluster needs Dask: pip install "call-compliance[cluster]"'
ALLOWED_FAILURES = 2  # a file that killed this many workers is stored as failed (the local cluster's rule)
_LOCAL = re.compile(r"^local(?::(\d+))?$")


@dataclasses.dataclass(frozen=True)
class ClusterSpec:
    """Where the work goes: a scheduler's address, or a local cluster of ``workers`` processes."""

    address: Optional[str] = None
    workers: int = 0


def parse_cluster(spec: str) -> ClusterSpec:
    """``tcp://host:8786`` (any Dask address) or ``local:N``; raises ``ComplianceError`` on anything else."""
    spec = spec.strip()
    local = _LOCAL.match(spec)
    if local:
        n = int(local.group(1) or (os.cpu_count() or 1))
        if not 1 <= n <= 256:
            raise ComplianceError(f"--cluster {spec}: the number of local workers must be 1 to 256")
        return ClusterSpec(workers=n)
    if re.match(r"^(tcp|tls|ucx|inproc)://[^\s/]+$", spec):
        return ClusterSpec(address=spec)
    raise ComplianceError(f"--cluster {spec}: expected tcp://HOST:PORT (a running dask scheduler) or local:N")


def _model_setup(scripts_json: list[str], options_json: Optional[str], cache_dir: Optional[str],
                 threads: int, nthreads: int) -> None:
    """In a worker: load the scripts and the model with an explicit thread count (never the nanny's 1)."""
    from compliance.speech.transcribe import TranscribeOptions

    if options_json is not None:
        options = TranscribeOptions.model_validate_json(options_json)
        update: dict[str, Any] = {"parallel": max(1, nthreads)}
        if not options.threads:
            # several tasks at once in this worker share the cores (and one model: CTranslate2's num_workers)
            update["threads"] = threads or max(1, _cpu_count() // max(1, nthreads))
        options_json = options.model_copy(update=update).model_dump_json()
    _setup(scripts_json, options_json, cache_dir)


try:
    from distributed.diagnostics.plugin import WorkerPlugin as _PluginBase
except ImportError:  # the extra is not installed: the class is defined, using it says what to install
    _PluginBase = object  # type: ignore[assignment,misc]


class ModelPlugin(_PluginBase):  # type: ignore[misc,valid-type]
    """Loads the scripts and the speech model once per worker process, when the worker starts (or joins)."""

    name = "call-compliance-model"

    def __init__(self, scripts_json: list[str], options_json: Optional[str], cache_dir: Optional[str] = None,
                 threads: int = 0) -> None:
        self.scripts_json, self.options_json = scripts_json, options_json
        self.cache_dir, self.threads = cache_dir, threads

    def setup(self, worker: Any) -> None:
        _model_setup(self.scripts_json, self.options_json, self.cache_dir, self.threads, worker.state.nthreads)


def work_bytes(task: _Task, data: bytes) -> _Done:
    """In a worker: one recording, sent as bytes, written to a private temporary folder under its own name
    (the decoder judges the format by it), analysed, and removed."""
    folder = tempfile.mkdtemp(prefix="compliance-")
    try:
        local = Path(folder) / Path(task.path).name
        local.write_bytes(data)
        done = _work(dataclasses.replace(task, path=str(local)))
        if done.ok and done.transcript_json:
            from compliance.scoring.transcript import Transcript

            transcript = Transcript.model_validate_json(done.transcript_json)
            transcript.source = task.path  # where the recording lives for the client, not the worker's copy
            done.transcript_json = transcript.model_dump_json()
        return done
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _Batch(Protocol):
    """What the cluster runner needs of a batch run (``batch.run._Run``)."""

    def _task(self, job: _Job) -> _Task: ...

    def _save(self, job: _Job, done: _Done) -> None: ...


def _open(spec: ClusterSpec, scripts_json: list[str], options_json: str, cache_dir: Optional[str]) -> tuple[Any, Any]:
    """A connected client with the model plugin registered, and the local cluster it owns (if any)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise ComplianceError(CLUSTER_HINT) from None
    cluster = None
    try:
        if spec.address is None:
            dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES})
            cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_port=0, silence_logs=50)
            threads = max(1, _cpu_count() // spec.workers)
            plugin = ModelPlugin(scripts_json, options_json, cache_dir, threads)
            client = Client(cluster)
        else:
            plugin = ModelPlugin(scripts_json, options_json, None, 0)  # the worker's own cache folder
            client = Client(spec.address, timeout="20s")
        client.register_plugin(plugin)
    except ComplianceError:
        raise
    except Exception as exc:  # noqa: BLE001 - unreachable scheduler, failed plugin: one line
        if cluster is not None:
            cluster.close()
        where = spec.address or f"a local cluster of {spec.workers} workers"
        raise ComplianceError(f"cannot use {where} ({type(exc).__name__}: {exc}); start the scheduler "
                              "(dask scheduler) and workers (dask worker tcp://HOST:8786), or use local:N") from None
    return client, cluster


def _died(exc: BaseException) -> bool:
    return type(exc).__name__ == "KilledWorker"


def run_on_cluster(batch: _Batch, jobs: list[_Job], spec: ClusterSpec, scripts_json: list[str], options_json: str,
                   cache_dir: Optional[str], *, work: Optional[Callable[[_Task, bytes], _Done]] = None,
                   meanwhile: Optional[Callable[[], None]] = None) -> None:
    """Transcribe and score ``jobs`` (recordings) on the cluster, storing each result as it arrives.

    ``meanwhile`` runs here once the first recordings are sent (scoring transcripts locally).
    Raises ``ComplianceError`` when the cluster cannot be used; KeyboardInterrupt cancels what is in flight.
    """
    from distributed import as_completed

    work = work or globals()["work_bytes"]  # looked up at call time: a test may put a crashing one in its place
    client, cluster = _open(spec, scripts_json, options_json, cache_dir)
    try:
        window = max(2, 2 * sum(client.nthreads().values()))
        pending = list(jobs)
        futures: dict[Any, _Job] = {}

        def submit(job: _Job) -> Any:
            # The bytes go with the task (not scattered to one worker): if that worker dies, the scheduler
            # still holds them and runs the task elsewhere. The window bounds what is held at once.
            data = Path(job.path).read_bytes()
            future = client.submit(work, batch._task(job), data, pure=False, key=f"call-{job.call_id}")
            futures[future] = job
            return future

        flight = as_completed([submit(pending.pop(0)) for _ in range(min(window, len(pending)))])
        if meanwhile is not None:
            meanwhile()
        for future in flight:
            job = futures.pop(future)
            batch._save(job, _result(future, job))
            future.release()
            if pending:
                flight.add(submit(pending.pop(0)))
    except BaseException:
        client.cancel(list(futures))
        raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _result(future: Any, job: _Job) -> _Done:
    kind = "audio" if job.kind == "audio" else "score"
    try:
        done: _Done = future.result()
        return done
    except Exception as exc:  # noqa: BLE001 - the task's own errors are caught inside it; these are the cluster's
        if _died(exc):
            return _Done(False, f"the worker process died on this file {ALLOWED_FAILURES} times or more "
                                "(out of memory or a crash)", kind)
        return _Done(False, f"{type(exc).__name__}: {exc}", kind)
