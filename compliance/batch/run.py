"""Batch mode: analyse every recording and transcript under a folder, once.

Plan (main process): find files, hash them, work out manager/date/script/level, compare with the
history and decide per file: skip (unchanged), re-score from the stored transcript (script, level or
attribution changed), or analyse (new). Transcription runs in worker processes, each loading the
model once; scoring and every database write happen in the main process, one short transaction per
call, so killing the batch loses at most the calls in flight and a rerun redoes only those.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from pydantic import BaseModel, Field, ValidationError

from compliance.history.attribution import Attribution, attribute, compile_patterns, index_manifest, load_manifest
from compliance.errors import ComplianceError, ScriptError
from compliance.history.daily import DAILY_TARGET
from compliance.resources import default_script_path, resource_dir
from compliance.scoring.result import CallRecord, CallResult
from compliance.scoring.script import SalesScript, load_script
from compliance.history.store import CallMeta, CallState, DayCount, Failure, ManagerRow, Store
from compliance.history.roster import Manager, Team, load_team
from compliance.scoring.transcript import Transcript, load_transcript

TRANSCRIPT_EXTENSIONS = frozenset({".txt", ".json"})
EXIT_SOME_FAILED = 3  # the batch finished, but some files could not be analysed


def _audio_extensions() -> frozenset[str]:
    try:
        from compliance.speech.transcribe import AUDIO_EXTENSIONS
    except ImportError:  # transcription not installed/available: still pick recordings up (and fail them clearly)
        from compliance.speech.decode import AUDIO_EXTENSIONS
    return frozenset(e.lower() for e in AUDIO_EXTENSIONS)


class BatchOptions(BaseModel):
    """Everything a batch run needs; the CLI fills it from its options."""

    folder: Path
    db: Path = Path("compliance.db")
    scripts: list[Path] = Field(default_factory=list)      # none: the bundled default script
    team: Optional[Path] = None
    manifest: Optional[Path] = None
    patterns: Optional[list[str]] = None                  # None: attribution.DEFAULT_PATTERNS
    default_date: Optional[str] = None                    # for files with no date anywhere (explicit only)
    workers: Optional[int] = None                         # None: one per core, at most one per recording
    transcribe: dict[str, Any] = Field(default_factory=dict)  # TranscribeOptions fields given on the CLI
    cache_dir: Optional[Path] = None                      # transcript cache (None: transcribe's default)
    out_dir: Optional[Path] = None                        # reports folder (skipped from the walk)
    lang: str = "ru"
    copy_audio: bool = False                              # reports: recordings copied into managers' folders


class BatchProgress(BaseModel):
    """Sent after every finished file (and once at the start with done = 0)."""

    done: int
    total: int
    audio_done: float = 0.0        # seconds of audio transcribed so far
    audio_total: float = 0.0       # seconds of audio to transcribe in this run
    elapsed: float = 0.0
    file: Optional[str] = None
    outcome: Optional[str] = None

    @property
    def eta(self) -> Optional[float]:
        """Seconds left, from the audio rate (or the file rate when there is no audio)."""
        if self.done == 0 or self.elapsed <= 0:
            return None
        if self.audio_total > 0:  # transcription dominates: judge by audio, once some is done
            if self.audio_done <= 0:
                return None
            return self.elapsed * (self.audio_total - self.audio_done) / self.audio_done
        return self.elapsed * (self.total - self.done) / self.done


class FileOutcome(BaseModel):
    """What happened to one file."""

    file: str
    outcome: str                    # analysed | rescored | skipped | duplicate | failed | unattributed
    call_id: Optional[str] = None
    manager: Optional[str] = None
    date: Optional[str] = None
    level: Optional[str] = None
    unknown_manager: bool = False
    script_id: Optional[str] = None
    script_choice: Optional[str] = None
    connected: Optional[bool] = None
    adherence: Optional[float] = None
    verdict: Optional[str] = None
    reason: Optional[str] = None


class DayKpi(BaseModel):
    """Connected calls of one manager on one day against the daily target."""

    manager: str
    manager_name: str = ""
    date: str
    calls: int
    connected: int
    target: tuple[int, int] = DAILY_TARGET

    @property
    def status(self) -> str:
        if self.connected < self.target[0]:
            return "below"
        return "above" if self.connected > self.target[1] else "within"


class BatchSummary(BaseModel):
    """The result of a batch: counts, every file's outcome, failures, unknown managers, daily KPI."""

    batch_id: int
    folder: str
    db: str
    total: int = 0
    analysed: int = 0               # new calls transcribed/read and scored
    rescored: int = 0               # stored calls scored again (script, level or attribution changed)
    skipped: int = 0                # unchanged
    duplicates: int = 0             # the same content as another file in this folder
    not_connected: int = 0          # among analysed + rescored
    failed: int = 0                 # failures + unattributed
    audio_seconds: float = 0.0
    elapsed: float = 0.0
    files: list[FileOutcome] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    unknown_managers: list[str] = Field(default_factory=list)
    kpi: list[DayKpi] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    reports: Optional[str] = None   # path of the report index, when written
    reports_error: Optional[str] = None
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed or self.reports_error else 0


ProgressCallback = Callable[[BatchProgress], None]


# ---------------------------------------------------------------------------------------------------
# Scripts


@dataclass
class _Scripts:
    """The scripts a batch can use: candidates for auto choice, plus any a roster or manifest names."""

    candidates: list[SalesScript]
    explicit: bool                                  # --script was given
    by_id: dict[str, SalesScript] = field(default_factory=dict)
    by_path: dict[str, SalesScript] = field(default_factory=dict)

    def resolve(self, spec: str, base: Path | None) -> SalesScript:
        """A script named by id (loaded or bundled) or by path (relative to ``base`` or the cwd)."""
        if spec in self.by_id:
            return self.by_id[spec]
        tries = [Path(spec)] if Path(spec).is_absolute() else [p for p in ((base / spec) if base else None,
                                                                              Path(spec)) if p]
        for path in tries:
            key = str(path.resolve())
            if key in self.by_path:
                return self.by_path[key]
            if path.is_file():
                script = load_script(path)
                self.by_path[key] = script
                self.by_id.setdefault(script.id, script)
                return script
        raise ScriptError(f"script {spec!r}: not a loaded script id ({', '.join(sorted(self.by_id))}) "
                          f"and no such file")

    def auto_key(self) -> str:
        return "auto:" + ",".join(sorted(s.content_hash() for s in self.candidates))


def _load_scripts(paths: list[Path]) -> _Scripts:
    candidates = [load_script(p) for p in paths] if paths else [load_script(default_script_path())]
    seen: dict[str, tuple[str, Path]] = {}
    for script, path in zip(candidates, paths):
        earlier = seen.setdefault(script.id, (script.content_hash(), path))
        if earlier[0] != script.content_hash():
            raise ScriptError(f"{path}: script id {script.id!r} is also used by {earlier[1]}; ids must differ")
    scripts = _Scripts(candidates=candidates, explicit=bool(paths))
    try:
        for path in sorted(resource_dir("scripts_yaml").glob("*.yaml")):
            try:
                bundled = load_script(path)
            except ScriptError:
                continue
            scripts.by_id.setdefault(bundled.id, bundled)
    except FileNotFoundError:
        pass
    for s in candidates:
        scripts.by_id[s.id] = s  # the given files win over bundled ones with the same id
    return scripts


# ---------------------------------------------------------------------------------------------------
# Finding files


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def discover(folder: Path, exclude: Iterable[Path] = ()) -> tuple[list[Path], list[Failure], list[str]]:
    """Every recording and transcript under ``folder`` (sorted), unreadable folders, ignored files.

    Hidden files and folders are skipped, and so are ``exclude`` paths (the report folder, the db).
    A ``.txt``/``.json`` next to a recording with the same name is that recording's transcript
    written by ``compliance transcribe``; it is ignored so the call is not counted twice.
    """
    audio_ext = _audio_extensions()
    wanted = audio_ext | TRANSCRIPT_EXTENSIONS
    skip = {p.resolve() for p in exclude}
    found: list[Path] = []
    failures: list[Failure] = []
    ignored: list[str] = []

    def _onerror(err: OSError) -> None:
        failures.append(Failure(file=str(err.filename), kind="folder",
                                reason=f"cannot read folder ({err.strerror})"))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=_onerror):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in skip)
        stems = {Path(n).stem for n in filenames if Path(n).suffix.lower() in audio_ext}
        for name in sorted(filenames):
            path = here / name
            suffix = path.suffix.lower()
            if name.startswith(".") or suffix not in wanted or path.resolve() in skip:
                continue
            if suffix in TRANSCRIPT_EXTENSIONS and path.stem in stems:
                ignored.append(str(path))
                continue
            if not path.is_file():  # a broken link, a pipe: reading it would fail or hang
                failures.append(Failure(file=str(path), kind="unreadable", reason="not a regular file"))
                continue
            found.append(path)
    return sorted(found), failures, ignored


# ---------------------------------------------------------------------------------------------------
# Planning


@dataclass
class _Job:
    path: Path
    kind: str                                   # audio | transcript
    call_id: str
    att: Attribution
    manager: Optional[Manager]
    level: str
    script: Optional[SalesScript]               # None: choose automatically among the candidates
    script_choice: str
    score_key: str
    transcribe_key: str
    action: str = "analyse"                     # analyse | rescore
    duration: float = 0.0

    @property
    def file(self) -> str:
        return os.path.abspath(self.path)


def _score_key(job: _Job, script_key: str) -> str:
    from compliance.scoring.score import SCORER_VERSION
    from compliance.scoring.embeddings import load_embedder

    # A new scorer, or the meaning model becoming available (or not), re-scores stored calls: cheap, from
    # the stored transcript.
    payload = {"scorer": SCORER_VERSION, "meaning": load_embedder() is not None,
               "script": script_key, "level": job.level, "manager": job.att.manager,
               "name": job.manager.name if job.manager else "", "date": job.att.date, "time": job.att.time,
               "phone": job.att.phone, "unknown": job.manager is None}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _pick_script(att: Attribution, manager: Optional[Manager], scripts: _Scripts, team: Team | None,
                 manifest_dir: Path | None) -> tuple[Optional[SalesScript], str]:
    if att.script:
        return scripts.resolve(att.script, manifest_dir), "manifest"
    if manager and manager.script:
        return scripts.resolve(manager.script, team.path.parent if team and team.path else None), "roster"
    if len(scripts.candidates) == 1:
        return scripts.candidates[0], "option" if scripts.explicit else "default"
    return None, "auto"


def _audio_duration(path: Path) -> float:
    try:
        import av

        with av.open(str(path)) as container:
            return float(container.duration or 0) / 1_000_000
    except Exception:  # a progress estimate only; a broken file fails later with its real reason
        return 0.0


class _Transcription:
    """The transcription options, made only when a recording needs them (imports the speech stack)."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self._options: Any = None
        self._key: Optional[str] = None

    @property
    def options(self) -> Any:
        if self._options is None:
            from compliance.speech.transcribe import TranscribeOptions

            fields = TranscribeOptions.model_fields
            try:
                self._options = TranscribeOptions(**{k: v for k, v in self.overrides.items() if k in fields})
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ComplianceError(f"transcription option {'.'.join(map(str, err['loc']))}: {err['msg']}") \
                    from None
        return self._options

    def key(self) -> str:
        """What the stored transcript of a recording depends on (a short hash of the cache key)."""
        if self._key is None:
            try:
                key = self.options.cache_key()
            except ImportError:
                return "unavailable"
            text = key if isinstance(key, str) else json.dumps(key, sort_keys=True, default=str)
            self._key = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._key


# ---------------------------------------------------------------------------------------------------
# Work on one call (in a worker process, or here for small batches): get the transcript, choose the
# script, score. Returns JSON only; never touches the database; exceptions never cross the process line.

_STATE: dict[str, Any] = {}
POOL_MIN_CALLS = 40  # fewer transcripts/re-scores than this are scored in the main process


def _setup(scripts_json: list[str], options_json: Optional[str], cache_dir: Optional[str]) -> None:
    _STATE.clear()
    scripts = [SalesScript.model_validate_json(js) for js in scripts_json]
    _STATE.update(scripts={sc.content_hash(): sc for sc in scripts}, cache_dir=cache_dir, model=None,
                  options=None)
    if options_json is not None:
        from compliance.speech.transcribe import TranscribeOptions, load_model

        options = TranscribeOptions.model_validate_json(options_json)
        _STATE.update(options=options, model=load_model(options))


def _init_worker(scripts_json: list[str], options_json: Optional[str], cache_dir: Optional[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle
    _setup(scripts_json, options_json, cache_dir)


@dataclass
class _Task:
    path: str
    kind: str                                   # audio | transcript
    stored: Optional[str]                       # the stored transcript JSON (re-score), else None
    script: Optional[str]                       # script content hash; None: choose among the candidates
    candidates: list[str]
    level: str
    vectors: bytes = b""                        # stored sentence embeddings of that transcript (packed)


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
    from compliance.scoring.embeddings import load_embedder, pack_vectors, transcript_sentences

    embedder = load_embedder()
    return pack_vectors(embedder.known(transcript_sentences(transcript.segments))) if embedder else b""


def _work(task: _Task) -> _Done:
    if task.vectors:
        from compliance.scoring.embeddings import load_embedder, unpack_vectors

        embedder = load_embedder()
        if embedder is not None:
            embedder.remember(unpack_vectors(task.vectors))
    try:
        from compliance.scoring.score import choose_script, score_call

        if task.stored is not None:
            transcript = Transcript.model_validate_json(task.stored)
        elif task.kind == "audio":
            from compliance.speech.transcribe import transcribe_file

            scripts = _STATE["scripts"]
            # The script also tells which channel of a stereo recording is the manager's.
            hint = scripts[task.script] if task.script else scripts[task.candidates[0]]
            try:
                transcript = transcribe_file(task.path, _STATE["options"], model=_STATE["model"],
                                             cache_dir=_STATE["cache_dir"], script=hint)
            except ComplianceError as exc:
                return _Done(False, str(exc), "audio")
        else:
            try:
                transcript = load_transcript(task.path)
            except ComplianceError as exc:
                return _Done(False, str(exc), "transcript")
        scripts = _STATE["scripts"]
        script = scripts[task.script] if task.script else choose_script(transcript, [scripts[h] for h in task.candidates])
        result = score_call(transcript, script, task.level)
        return _Done(True, transcript_json=task.stored or transcript.model_dump_json(),
                     result_json=result.model_dump_json(), script=script.content_hash(),
                     vectors=_call_vectors(transcript) if not task.vectors else b"")
    except ComplianceError as exc:
        return _Done(False, str(exc), "score")
    except Exception as exc:  # noqa: BLE001 - one call's bug must not stop the batch
        return _Done(False, f"{type(exc).__name__}: {exc}", "audio" if task.kind == "audio" else "score")


def _pool_size(requested: Optional[int], jobs: int) -> int:
    cores = os.cpu_count() or 1
    return max(1, min(requested or cores, jobs))


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Stop at once (Ctrl-C): work in flight is redone next run."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------------------------------------------
# The run


class _Run:
    def __init__(self, options: BatchOptions, progress: Optional[ProgressCallback]) -> None:
        self.o = options
        self.progress = progress
        self.t0 = time.monotonic()
        self.scripts = _load_scripts(options.scripts)
        self.team: Optional[Team] = load_team(options.team) if options.team else None
        self.patterns = compile_patterns(options.patterns)
        self.manifest = None
        if options.manifest:
            rows = load_manifest(options.manifest)
            self.manifest = index_manifest(rows, options.folder, options.manifest.parent)
        self.tx = _Transcription(options.transcribe)
        self.store = Store(options.db)
        self.summary: Optional[BatchSummary] = None
        self.done = 0
        self.total = 0
        self.audio_done = 0.0
        self.audio_total = 0.0
        self.unknown: set[str] = set()
        self.dates: set[tuple[str, str]] = set()
        self.by_hash: dict[str, SalesScript] = {}
        self.saved_scripts: set[str] = set()

    # -- bookkeeping ---------------------------------------------------------------------------------
    def _emit(self, outcome: FileOutcome | None = None) -> None:
        if outcome is not None:
            self.done += 1
            self.summary.files.append(outcome)
        if self.progress:
            self.progress(BatchProgress(done=self.done, total=self.total, audio_done=self.audio_done,
                                        audio_total=self.audio_total, elapsed=time.monotonic() - self.t0,
                                        file=outcome.file if outcome else None,
                                        outcome=outcome.outcome if outcome else None))

    def _fail(self, file: str, kind: str, reason: str, call_id: str | None = None) -> None:
        """Store and list one file that could not be analysed; ``reason`` without the path in front."""
        for prefix in (f"{file}: ", f"{os.path.abspath(file)}: "):
            reason = reason.removeprefix(prefix)
        file = os.path.abspath(file)
        failure = Failure(file=file, kind=kind, reason=reason, batch_id=self.summary.batch_id, content_hash=call_id)
        self.store.save_failure(failure)
        self.summary.failures.append(failure)
        self.summary.failed += 1
        self._emit(FileOutcome(file=file, outcome="unattributed" if kind == "unattributed" else "failed",
                               call_id=call_id, reason=reason))

    # -- planning ------------------------------------------------------------------------------------
    def _plan(self, paths: list[Path]) -> tuple[list[_Job], list[tuple[_Job, CallState]]]:
        audio_ext = _audio_extensions()
        states = self.store.call_states()
        known = list(self.team.managers) if self.team else []
        seen: dict[str, str] = {}
        jobs: list[_Job] = []
        skips: list[tuple[_Job, CallState]] = []
        for path in paths:
            kind = "audio" if path.suffix.lower() in audio_ext else "transcript"
            try:
                call_id = _file_hash(path)
            except OSError as exc:
                self._fail(str(path), "unreadable", f"cannot read ({exc.strerror})")
                continue
            if call_id in seen:
                self.summary.duplicates += 1
                self._emit(FileOutcome(file=os.path.abspath(path), outcome="duplicate", call_id=call_id,
                                       reason=f"same content as {seen[call_id]}"))
                continue
            seen[call_id] = os.path.abspath(path)
            att = attribute(path, self.o.folder, patterns=self.patterns, manifest=self.manifest,
                            known_managers=known, default_date=self.o.default_date)
            if not att.complete:
                self._fail(str(path), "unattributed",
                           f"cannot tell the {' and the '.join(att.missing())} from the manifest, "
                           "folders or file name; add it to a --manifest or rename (see --pattern)", call_id)
                continue
            job = self._job(path, kind, call_id, att)
            if job is None:
                continue
            state = states.get(call_id)
            # A stored transcript is reusable when it came from the same transcription options.
            reusable = bool(state and state.has_transcript and state.transcribe_key == job.transcribe_key)
            if reusable and state.score_key == job.score_key:
                skips.append((job, state))
                continue
            if reusable:
                job.action = "rescore"
            jobs.append(job)
        return jobs, skips

    def _job(self, path: Path, kind: str, call_id: str, att: Attribution) -> Optional[_Job]:
        manager = self.team.get(att.manager) if self.team else None
        if manager is None:
            self.unknown.add(att.manager)
        level = att.level or (manager.level_on(att.date) if manager else "newcomer")
        try:
            script, choice = _pick_script(att, manager, self.scripts, self.team,
                                          self.o.manifest.parent if self.o.manifest else None)
        except ScriptError as exc:
            self._fail(str(path), "script", str(exc), call_id)
            return None
        job = _Job(path=path, kind=kind, call_id=call_id, att=att, manager=manager, level=level, script=script,
                   script_choice=choice, score_key="", transcribe_key="text" if kind == "transcript" else "")
        if kind == "audio":
            job.transcribe_key = self.tx.key()
        job.score_key = _score_key(job, script.content_hash() if script else self.scripts.auto_key())
        return job

    # -- scoring and saving --------------------------------------------------------------------------
    def _task(self, job: _Job) -> _Task:
        stored, vectors = None, b""
        if job.action == "rescore":
            stored = self.store.stored_transcript_json(job.call_id)
            vectors = self._stored_vectors(stored)
        return _Task(path=str(job.path), kind=job.kind, stored=stored, vectors=vectors,
                     script=job.script.content_hash() if job.script else None,
                     candidates=[sc.content_hash() for sc in self.scripts.candidates], level=job.level)

    def _stored_vectors(self, stored: Optional[str]) -> bytes:
        """The stored embeddings of a stored transcript's sentences: a re-score then embeds only new text."""
        from compliance.scoring.embeddings import MODEL_ID, pack_vectors, transcript_sentences

        if not stored:
            return b""
        texts = transcript_sentences(Transcript.model_validate_json(stored).segments)
        return pack_vectors(self.store.load_embeddings(MODEL_ID, texts))

    def _scripts_json(self, jobs: list[_Job]) -> list[str]:
        used = {sc.content_hash(): sc for sc in self.scripts.candidates}
        used.update({j.script.content_hash(): j.script for j in jobs if j.script})
        self.by_hash.update(used)
        return [sc.model_dump_json() for sc in used.values()]

    def _save(self, job: _Job, done: _Done) -> None:
        if job.kind == "audio" and job.action == "analyse":
            self.audio_done += job.duration
            self.summary.audio_seconds += job.duration
        if not done.ok:
            self._fail(str(job.path), done.error_kind, done.error, job.call_id)
            return
        script = self.by_hash[done.script]
        result = CallResult.model_validate_json(done.result_json)
        result.file, result.manager = job.file, job.att.manager
        record = CallRecord(
            call_id=job.call_id, file=job.file, manager=job.att.manager,
            manager_name=job.manager.name if job.manager else "", date=job.att.date, time=job.att.time,
            level=job.level, result=result, audio=job.file if job.kind == "audio" else None,
            model=_model_of(done.transcript_json), analysed_at=dt.datetime.now().isoformat(timespec="seconds"),
        )
        meta = CallMeta(kind=job.kind, phone=job.att.phone, unknown_manager=job.manager is None,
                        script_choice=job.script_choice, score_key=job.score_key,
                        transcribe_key=job.transcribe_key,
                        attribution={**job.att.model_dump(exclude={"sources"}, exclude_none=True),
                                     "sources": job.att.sources})
        if done.script not in self.saved_scripts:
            self.store.save_script(script)
            self.saved_scripts.add(done.script)
        outcome = "rescored" if job.action == "rescore" else "analysed"
        if done.vectors:
            from compliance.scoring.embeddings import MODEL_ID, unpack_vectors

            self.store.save_embeddings(MODEL_ID, unpack_vectors(done.vectors))
        self.store.save_call(record, meta, self.summary.batch_id, outcome, transcript_json=done.transcript_json)
        if outcome == "rescored":
            self.summary.rescored += 1
        else:
            self.summary.analysed += 1
        if not result.connected:
            self.summary.not_connected += 1
        self.dates.add((job.att.manager, job.att.date))
        self._emit(FileOutcome(file=job.file, outcome=outcome, call_id=job.call_id, manager=job.att.manager,
                               date=job.att.date, level=job.level, unknown_manager=job.manager is None,
                               script_id=script.id, script_choice=job.script_choice, connected=result.connected,
                               adherence=result.adherence, verdict=result.verdict))

    def _execute(self, audio: list[_Job], local: list[_Job]) -> None:
        """Transcribe recordings in worker processes (scoring the rest here meanwhile), or score many
        transcripts/re-scores in a pool of scorers, or a few right here."""
        scripts_json = self._scripts_json(audio + local)
        cache_dir = str(self.o.cache_dir) if self.o.cache_dir else None
        if audio:
            try:
                options = self.tx.options
            except Exception as exc:  # noqa: BLE001 - the speech stack itself is unusable
                for job in audio:
                    self._fail(str(job.path), "audio", f"cannot transcribe ({exc})", job.call_id)
                audio = []
        if not audio and (len(local) < POOL_MIN_CALLS or (os.cpu_count() or 1) < 2 or self.o.workers == 1):
            _setup(scripts_json, None, cache_dir)
            for job in local:
                self._save(job, _work(self._task(job)))
            return
        workers = _pool_size(self.o.workers, len(audio) or len(local))
        options_json = None
        if audio:
            cores = os.cpu_count() or 1
            if "threads" in type(options).model_fields and not getattr(options, "threads", None):
                options = options.model_copy(update={"threads": max(1, cores // workers)})
            options_json = options.model_dump_json()
        init = (scripts_json, options_json, cache_dir)
        pending = list(audio or local)
        delivered = False
        local_done = not audio  # without recordings, the local jobs are the pool's work
        for attempt in range(2):
            pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_init_worker, initargs=init)
            try:
                futures = {pool.submit(_work, self._task(j)): j for j in pending}
                if not local_done:
                    local_done = True
                    _setup(scripts_json, None, cache_dir)
                    for job in local:  # the workers are busy transcribing: score transcripts here meanwhile
                        self._save(job, _work(self._task(job)))
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

    def _in_process(self, jobs: list[_Job], scripts_json: list[str], options_json: Optional[str],
                    cache_dir: Optional[str]) -> None:
        """No worker could start or deliver (a model that does not load, a ``__main__`` read from stdin):
        do the work here, or fail the recordings with the real reason."""
        try:
            _setup(scripts_json, options_json if any(j.kind == "audio" for j in jobs) else None, cache_dir)
        except Exception as exc:  # noqa: BLE001 - reported per recording, the transcripts still go on
            for job in [j for j in jobs if j.kind == "audio" and j.action == "analyse"]:
                self._fail(str(job.path), "audio", f"cannot transcribe ({exc})", job.call_id)
            jobs = [j for j in jobs if not (j.kind == "audio" and j.action == "analyse")]
            _setup(scripts_json, None, cache_dir)
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

    # -- the whole batch -----------------------------------------------------------------------------
    def run(self) -> BatchSummary:
        folder = self.o.folder
        batch_id = self.store.begin_batch(str(folder.resolve()), self.o.model_dump(mode="json"))
        self.summary = BatchSummary(batch_id=batch_id, folder=str(folder), db=str(self.o.db))
        status = "interrupted"
        try:
            self._sync_managers()
            exclude = [self.o.db, Path(f"{self.o.db}-wal"), Path(f"{self.o.db}-shm")]
            if self.o.out_dir:
                exclude.append(self.o.out_dir)
            paths, folder_failures, ignored = discover(folder, exclude)
            if ignored:
                self.summary.notes.append(f"{len(ignored)} transcript(s) next to recordings of the same name "
                                          "ignored (the recording is analysed)")
            self.total = len(paths) + len(folder_failures)
            self.summary.total = len(paths)
            self._emit()
            for failure in folder_failures:
                self._fail(failure.file, failure.kind, failure.reason)
            jobs, skips = self._plan(paths)
            self._skip(skips)
            audio = [j for j in jobs if j.kind == "audio" and j.action == "analyse"]
            local = [j for j in jobs if not (j.kind == "audio" and j.action == "analyse")]
            for job in audio:
                job.duration = _audio_duration(job.path)
            self.audio_total = sum(j.duration for j in audio)
            self._execute(audio, local)
            self._finish_summary()
            self.store.resolve_failures_under(os.path.abspath(folder), batch_id)
            status = "done"
        except BaseException:
            self.summary.interrupted = True
            raise
        finally:
            self.summary.elapsed = time.monotonic() - self.t0
            self.store.finish_batch(batch_id, self.summary.model_dump(mode="json", exclude={"files"}), status)
        return self.summary

    def _skip(self, skips: list[tuple[_Job, CallState]]) -> None:
        for job, _state in skips:
            self.store.note_outcome(self.summary.batch_id, job.call_id, "skipped")
            self.summary.skipped += 1
            self.dates.add((job.att.manager, job.att.date))
            if job.manager is None:
                self.unknown.add(job.att.manager)
            self._emit(FileOutcome(file=job.file, outcome="skipped", call_id=job.call_id, manager=job.att.manager,
                                   date=job.att.date, level=job.level, unknown_manager=job.manager is None))

    def _sync_managers(self) -> None:
        if not self.team:
            return
        for key, m in self.team.managers.items():
            self.store.upsert_manager(ManagerRow(id=key, name=m.name, level=m.level,
                                                 since=m.since.isoformat() if m.since else None, known=True))

    def _finish_summary(self) -> None:
        for key in sorted(self.unknown):
            self.store.upsert_manager(ManagerRow(id=key, known=False))
        self.summary.unknown_managers = sorted(self.unknown)
        names = {k: m.name for k, m in self.team.managers.items()} if self.team else {}
        for manager, date in sorted(self.dates, key=lambda md: (md[1], md[0])):
            for day in self.store.daily_counts(manager=manager, since=date, until=date):
                self.summary.kpi.append(_kpi(day, names.get(manager, "")))


def _model_of(transcript_json: str) -> Optional[str]:
    # The model name is a top-level field; avoid parsing the whole transcript again for it.
    try:
        return json.loads(transcript_json).get("model")
    except ValueError:
        return None


def _kpi(day: DayCount, name: str) -> DayKpi:
    return DayKpi(manager=day.manager, manager_name=name, date=day.date, calls=day.calls, connected=day.connected)


def run_batch(options: BatchOptions, progress: Optional[ProgressCallback] = None) -> BatchSummary:
    """Analyse a folder of recordings and transcripts into the history database.

    Unchanged files are skipped; files whose script, level or attribution changed are re-scored from
    the stored transcript; new files are transcribed (in worker processes) and scored. Every call is
    committed on its own. Reports are written to ``options.out_dir`` when given.

    Raises:
        ComplianceError: a bad option (script, roster, manifest, pattern, database); per-file problems
            never raise, they are in ``summary.failures``.
        KeyboardInterrupt: the batch was interrupted (what was finished is stored).
    """
    if not options.folder.is_dir():
        raise ComplianceError(f"{options.folder}: no such folder")
    if options.out_dir and Path(os.path.abspath(options.db)).is_relative_to(os.path.abspath(options.out_dir)):
        raise ComplianceError(f"{options.db}: the history database cannot live inside the report folder "
                              f"{options.out_dir} (it is replaced on every run); use e.g. --db compliance.db")
    run = _Run(options, progress)
    try:
        summary = run.run()
        if options.out_dir:
            summary.reports = write_batch_reports(run.store, options.out_dir, summary, team=run.team,
                                                  scripts=run.scripts.by_id, lang=options.lang,
                                                  copy_audio=options.copy_audio)
        return summary
    finally:
        run.store.close()


def team_readiness(store: Store, team: Optional[Team], manager: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """Readiness of every manager in the roster and the history (or of one), by manager key."""
    from compliance.history.readiness import assess_readiness

    keys = {m.id for m in store.managers()} | set(team.managers if team else ()) | \
        {r.manager for r in store.calls(with_transcripts=False)}
    if manager:
        keys = {manager}
    out = {}
    for key in sorted(keys):
        roster = team.get(key) if team else None
        level = roster.level if roster else "newcomer"
        records = [r for r in store.calls(manager=key, with_transcripts=False) if r.level == level]
        out[key] = assess_readiness(records, level, manager=key,
                                    manager_name=roster.name if roster else None, **kwargs)
    return out


def write_batch_reports(store: Store, out_dir: Path, summary: BatchSummary, *, team: Optional[Team] = None,
                        scripts: dict[str, SalesScript] | None = None, lang: str = "ru",
                        copy_audio: bool = False) -> Optional[str]:
    """Write the HTML report set for the whole history after a batch; returns the index path."""
    # ---- REPORTS HOOK: the reports helper's compliance.reports.write_reports is called here. ----
    try:
        from compliance.reports import write_reports
    except ImportError:
        summary.notes.append("reports: compliance.reports is not available; no HTML written")
        return None
    records = store.calls()
    if not records:
        summary.notes.append("reports: no calls in the history yet; no HTML written")
        return None
    readiness = team_readiness(store, team)
    try:
        index = write_reports(out_dir, records, readiness=readiness, failures=store.failures(summary.batch_id),
                              scripts=scripts, lang=lang, copy_audio=copy_audio)
    except ComplianceError as exc:
        summary.reports_error = str(exc)
        return None
    return str(index)
