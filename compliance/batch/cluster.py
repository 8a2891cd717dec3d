"""Many machines: a batch's recordings transcribed on a Dask cluster, the results stored here.

``--cluster tcp://HOST:8786`` sends the work to a running Dask scheduler; ``--cluster local:N`` starts a
``LocalCluster`` of N worker processes on this machine. What stays as in a local batch:

* the client (this process) is the only SQLite writer; each result is stored as it arrives, so progress,
  resume and Ctrl-C behave as in a local batch;
* each worker loads the speech model once (``ModelPlugin``: CTranslate2 models cannot be pickled) and sets
  its own thread count (Dask's nanny sets ``OMP_NUM_THREADS=1``, which would leave the model on one thread);
* recordings travel as data scattered to the workers (no shared folder, no graph as large as the recording), a
  bounded number at a time; one whose worker died before its task ran is sent again;
* a worker killed mid-run: the scheduler runs its files elsewhere; a file that kills workers repeatedly
  (``distributed.scheduler.allowed-failures``) is stored as failed and the batch goes on;
* a scheduler without workers: one line after ``$COMPLIANCE_CLUSTER_WAIT`` seconds (60); the scheduler lost
  mid-batch: one line, what came back is stored and nothing else is marked failed, so a rerun picks it up.

Dask is an optional extra: ``pip install "call-compliance[cluster]"``.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import CancelledError
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from compliance.errors import ComplianceError
from compliance.speech.engine import _cpu_count  # cores this process may use (its affinity)
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import internal_error

from .workers import _Done, _remember, _setup, _Task, _work

if TYPE_CHECKING:
    from .plan import _Job

CLUSTER_HINT = 'the cluster needs Dask: pip install "call-compliance[cluster]"'
WAIT_ENV = "COMPLIANCE_CLUSTER_WAIT"
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
            raise ComplianceError(say("err.cluster.local_count", spec=spec))
        return ClusterSpec(workers=n)
    if re.match(r"^(tcp|tls|ucx|inproc)://[^\s/]+$", spec):
        return ClusterSpec(address=spec)
    raise ComplianceError(say("err.cluster.spec", spec=spec))


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
                 threads: int = 0, seed: bytes = b"") -> None:
        self.scripts_json, self.options_json = scripts_json, options_json
        self.cache_dir, self.threads, self.seed = cache_dir, threads, seed

    def setup(self, worker: Any) -> None:
        _model_setup(self.scripts_json, self.options_json, self.cache_dir, self.threads, worker.state.nthreads)
        _remember(self.seed)


def work_bytes(task: _Task, data: bytes) -> _Done:
    """In a worker: one recording, sent as bytes, written to a private temporary folder under its own name
    (the decoder judges the format by it), analysed, and removed."""
    folder = tempfile.mkdtemp(prefix="compliance-", dir=_scratch())
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


_SCRATCH: dict[int, str] = {}  # a local cluster's scratch folder, by the cluster's id


def _scratch() -> Optional[str]:
    """The worker's own scratch folder (under the run's folder on a local cluster, which the client removes at the
    end: a worker killed mid-recording runs no ``finally``), or the system's temporary folder outside a worker."""
    try:
        from distributed import get_worker

        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


class _Batch(Protocol):
    """What the cluster runner needs of a batch run (``batch.run._Run``)."""

    def _task(self, job: _Job) -> _Task: ...

    def _save(self, job: _Job, done: _Done) -> None: ...


def _open(spec: ClusterSpec, scripts_json: list[str], options_json: str, cache_dir: Optional[str],
          seed: bytes = b"") -> tuple[Any, Any]:
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
            scratch = tempfile.mkdtemp(prefix="compliance-cluster-")
            dask.config.set({"temporary-directory": scratch})  # the scheduler's and nannies' lock files too
            cluster = LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, scheduler_port=0, silence_logs=50,
                                   local_directory=scratch)
            _SCRATCH[id(cluster)] = scratch  # removed with the cluster (``_close_local``)
            threads = max(1, _cpu_count() // spec.workers)
            plugin = ModelPlugin(scripts_json, options_json, cache_dir, threads, seed)
            client = Client(cluster)
        else:
            plugin = ModelPlugin(scripts_json, options_json, None, 0, seed)  # the worker's own cache folder
            client = Client(spec.address, timeout="20s")
        client.register_plugin(plugin)
    except ComplianceError:
        raise
    except Exception as exc:  # noqa: BLE001 - unreachable scheduler, failed plugin: one line
        if cluster is not None:
            _close_local(cluster)
        where = spec.address or say("err.cluster.local", n=spec.workers)
        raise ComplianceError(say("err.cluster.cannot_use", where=where, why=f"{type(exc).__name__}: {exc}")) from None
    wait = worker_wait()
    try:  # a scheduler without workers would take the recordings and never answer
        client.wait_for_workers(1, timeout=wait)
    except Exception:  # noqa: BLE001 - a timeout, or the scheduler went away meanwhile
        _close(client, cluster)
        raise ComplianceError(say("err.cluster.no_workers", address=spec.address or "local", wait=f"{wait:g}",
                                  target=spec.address or "ADDRESS")) from None
    return client, cluster


def worker_wait() -> float:
    """Seconds to wait for the first worker (``$COMPLIANCE_CLUSTER_WAIT``, default 60)."""
    try:
        return max(1.0, float(os.environ.get(WAIT_ENV, "60")))
    except ValueError:
        raise ComplianceError(say("err.cluster.wait", env=WAIT_ENV, value=repr(os.environ[WAIT_ENV]))) from None


def _close(client: Any, cluster: Any) -> None:
    """Close without hanging or raising: the scheduler may be gone."""
    try:
        client.close(timeout=10)
    except Exception:  # noqa: BLE001 - nothing more to save
        pass
    if cluster is not None:
        _close_local(cluster)


def _close_local(cluster: Any) -> None:
    """Stop the local cluster and remove its scratch folder (what a killed worker left there goes with it)."""
    try:
        cluster.close()
    finally:
        scratch = _SCRATCH.pop(id(cluster), None)
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)


class SchedulerLost(ComplianceError):
    """The connection to the scheduler broke mid-batch: what came back is stored, the rest is not failed."""


def _died(exc: BaseException) -> bool:
    return type(exc).__name__ == "KilledWorker"


def run_on_cluster(batch: _Batch, jobs: list[_Job], spec: ClusterSpec, scripts_json: list[str], options_json: str,
                   cache_dir: Optional[str], *, work: Optional[Callable[[_Task, bytes], _Done]] = None,
                   meanwhile: Optional[Callable[[], None]] = None, seed: bytes = b"") -> None:
    """Transcribe and score ``jobs`` (recordings) on the cluster, storing each result as it arrives.

    ``meanwhile`` runs here once the first recordings are sent (scoring transcripts locally).
    Raises ``ComplianceError`` when the cluster cannot be used (``SchedulerLost`` when it went away mid-batch);
    KeyboardInterrupt cancels what is in flight.
    """
    work = work or globals()["work_bytes"]  # looked up at call time: a test may put a crashing one in its place
    # The client logs its reconnection attempts with tracebacks when the scheduler goes away; this batch says
    # what happened itself, in one line (SchedulerLost).
    # Its comm layer (batched sends, core connections) logs the broken connection the same way.
    logs = [logging.getLogger(f"distributed.{name}") for name in ("client", "batched", "core")]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL)
    try:
        _run(batch, jobs, spec, scripts_json, options_json, cache_dir, work, meanwhile, seed)
    finally:
        for log, level in zip(logs, levels):
            log.setLevel(level)


def _run(batch: _Batch, jobs: list[_Job], spec: ClusterSpec, scripts_json: list[str], options_json: str,
         cache_dir: Optional[str], work: Callable[[_Task, bytes], _Done], meanwhile: Optional[Callable[[], None]],
         seed: bytes) -> None:
    from distributed import as_completed

    client, cluster = _open(spec, scripts_json, options_json, cache_dir, seed)
    stored = 0
    futures: dict[Any, tuple[_Job, Any]] = {}
    lost: dict[str, int] = {}
    try:
        window = max(2, 2 * sum(client.nthreads().values()))
        pending = list(jobs)

        def submit(job: _Job) -> Any:
            # Data, not graphs: the bytes are scattered to a worker and the task names them (inside the task
            # they made a graph as large as the recording, and Dask's "Sending large graph" warning). If the
            # worker holding them dies, the task is cancelled ("already forgotten") and sent again from the
            # file (_DataLost). The window bounds what is held at once.
            try:
                raw = Path(job.path).read_bytes()
            except OSError as exc:  # not the cluster's fault: a ComplianceError, not SchedulerLost
                raise ComplianceError(say("err.cluster.unreadable", path=job.path, why=os_reason(exc))) from None
            data = _scatter(client, raw)
            key = f"call-{job.call_id}-{lost.get(job.call_id, 0)}"
            future = client.submit(work, batch._task(job), data, pure=False, key=key)
            futures[future] = (job, data)
            return future

        flight = as_completed([submit(pending.pop(0)) for _ in range(min(window, len(pending)))])
        if meanwhile is not None:
            meanwhile()
        for future in flight:
            job, data = futures.pop(future)
            try:
                done = _result(future, job, client)
            except _DataLost:
                lost[job.call_id] = lost.get(job.call_id, 0) + 1
                if lost[job.call_id] <= ALLOWED_FAILURES:
                    flight.add(submit(job))
                    continue
                done = _Done(False, say("err.cluster.worker_died", n=lost[job.call_id]),
                             "audio" if job.kind == "audio" else "score")
            batch._save(job, done)
            stored += 1
            future.release()
            data.release()
            if pending:
                flight.add(submit(pending.pop(0)))
    except Exception as exc:
        _cancel(client, futures)
        if isinstance(exc, SchedulerLost) or _disconnected(client):
            raise SchedulerLost(say("err.cluster.lost", address=spec.address or "local", stored=stored,
                                    total=len(jobs), left=len(jobs) - stored)) from None
        raise
    except BaseException:
        _cancel(client, futures)
        raise
    finally:
        _close(client, cluster)


def _scatter(client: Any, raw: bytes, tries: int = 5) -> Any:
    """The bytes on a worker; a worker that died meanwhile (the scheduler still lists it) is retried, a broken
    connection to the scheduler is SchedulerLost."""
    for attempt in range(tries):
        try:
            return client.scatter(raw, hash=False)
        except OSError as exc:  # CommClosedError, a timeout
            if _disconnected(client) or attempt == tries - 1:
                raise SchedulerLost(str(exc)) from None
            time.sleep(1.0)
    raise AssertionError("unreachable")


def _disconnected(client: Any) -> bool:
    return str(getattr(client, "status", "")) != "running"


class _DataLost(Exception):
    """The worker holding a recording's bytes died before its task ran."""


def _cancel(client: Any, futures: dict[Any, Any]) -> None:
    try:
        client.cancel(list(futures))
    except Exception:  # noqa: BLE001 - the scheduler is gone: nothing runs there any more
        pass


def _result(future: Any, job: _Job, client: Any) -> _Done:
    kind = "audio" if job.kind == "audio" else "score"
    try:
        done: _Done = future.result()
        return done
    except (Exception, CancelledError) as exc:  # noqa: BLE001 - the task's own errors are caught inside it
        # Only this batch cancels its futures (on Ctrl-C); a cancelled one here means the scheduler went away
        # ("scheduler-connection-lost": the file was not analysed, and must not be stored as failed), or the
        # worker holding its recording did (send it again).
        if _disconnected(client) or "connection-lost" in str(exc):
            raise SchedulerLost(str(exc)) from None
        if isinstance(exc, CancelledError):
            raise _DataLost(str(exc)) from None
        if _died(exc):
            # dask gave up on the task itself (its own allowed-failures): the same fault as the data lost with a worker,
            # said in the same catalogue words
            return _Done(False, say("err.cluster.worker_died", n=ALLOWED_FAILURES), kind)
        return _Done(False, internal_error(exc), kind)
