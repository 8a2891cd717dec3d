"""Batch mode: analyse every recording and transcript under a folder, once.

Plan (main process): find files, hash them, work out manager/date/script/level, compare with the
history and decide per file: skip (unchanged), re-score from the stored transcript (script, level or
attribution changed), or analyse (new). Recordings are transcribed on threads of this process around one
loaded model (or on a Dask cluster); every database write happens on the main thread, one short transaction per
call, so killing the batch loses at most the calls in flight and a rerun redoes only those.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from pathlib import Path
from typing import Iterable, Optional

from compliance.errors import ComplianceError, StoreError
from compliance.files import shown_path
from compliance.history.attribution import (
    ManifestRow,
    compile_patterns,
    index_manifest,
    load_manifest,
    unmatched_rows,
)
from compliance.history.daily import DAILY_TARGET
from compliance.history.decisions import load_decisions, orphaned
from compliance.history.roster import Team, load_team
from compliance.history.store import (
    CallMeta,
    DayCount,
    Failure,
    ManagerRow,
    Store,
)
from compliance.history.voices import voice_vector
from compliance.scoring.result import CallRecord, CallResult, Outcome
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.text.catalogue import say
from compliance.text.third_party import sqlite_reason

from .cluster import parse_cluster
from .discover import discover, walk  # noqa: F401  (discover: its older importers)
from .execute import _Executes
from .models import (
    BatchOptions,
    BatchProgress,
    BatchSummary,
    DayKpi,
    FileOutcome,
    ProgressCallback,
)
from .plan import _Job, _load_scripts, _Transcription
from .planner import _Planner
from .reports import write_batch_reports
from .spill import PlanSpill
from .stopping import raise_if_stopped
from .workers import (
    _Done,
    _model_of,
    _Task,
)


class _Run(_Planner, _Executes):
    def __init__(self, options: BatchOptions, progress: Optional[ProgressCallback]) -> None:
        self.o = options
        self.progress = progress
        self.t0 = time.monotonic()
        self.scripts = _load_scripts(options.scripts)
        self.team: Optional[Team] = load_team(options.team) if options.team else None
        self.patterns = compile_patterns(options.patterns)
        self.manifest = None
        self.manifest_rows: list[ManifestRow] = []
        if options.manifest:
            self.manifest_rows = load_manifest(options.manifest)
            self.manifest = index_manifest(self.manifest_rows, options.folder, options.manifest.parent)
        given = {k: v for k, v in options.transcribe.items() if v is not None}
        self.tx = _Transcription({"model": self.team.model_folder(), **given} if self.team and self.team.model
                                 else given)  # the team's model (team.yaml ``model:``) unless --model is given
        self.cluster = parse_cluster(options.cluster) if options.cluster else None
        self.store = Store(options.db)
        self._summary: Optional[BatchSummary] = None
        self.done = 0
        self.total = 0
        self.audio_done = 0.0
        self.audio_total = 0.0
        self.planned = False
        self.unknown: set[str] = set()
        self.dates: set[tuple[str, str]] = set()
        self.by_hash: dict[str, SalesScript] = {}
        self.saved_scripts: set[str] = set()
        self.spill = PlanSpill(self._unpack)  # the plan, on disk

    def _unpack(self, job: _Job, script_hash: Optional[str]) -> _Job:
        """A planned job read back from disk with its roster manager and script (kept once, not per job)."""
        job.manager = self.team.get(job.manager_key) if self.team else None
        job.script = self.spill.scripts[script_hash] if script_hash else None
        return job

    # -- bookkeeping ---------------------------------------------------------------------------------
    @property
    def summary(self) -> BatchSummary:
        """The summary of the run in progress (there is one from the start of ``run``)."""
        assert self._summary is not None, "the batch has not started"
        return self._summary

    def _emit(self, outcome: FileOutcome | None = None) -> None:
        raise_if_stopped()  # a Ctrl-C that the code running when it came swallowed stops the batch here
        if outcome is not None:
            self.done += 1
            self.summary.add_file(outcome)
        if self.progress:
            self.progress(BatchProgress(done=self.done, total=self.total, audio_done=self.audio_done,
                                        audio_total=self.audio_total, elapsed=time.monotonic() - self.t0,
                                        file=outcome.file if outcome else None,
                                        outcome=outcome.outcome if outcome else None, planned=self.planned))

    def _fail(self, file: str, kind: str, reason: str, call_id: str | None = None) -> None:
        """Store and list one file that could not be analysed; ``reason`` without the path in front."""
        for prefix in (f"{file}: ", f"{os.path.abspath(file)}: "):
            reason = reason.removeprefix(prefix)
        file = os.path.abspath(file)
        failure = Failure(file=file, kind=kind, reason=reason, batch_id=self.summary.batch_id, content_hash=call_id)
        self.store.save_failure(failure)
        self.summary.failures.append(failure)
        self.summary.failed += 1
        self._emit(FileOutcome(file=file, outcome=Outcome.UNATTRIBUTED if kind == "unattributed" else Outcome.FAILED,
                               call_id=call_id, reason=reason))

    # -- scoring and saving --------------------------------------------------------------------------
    def _task(self, job: _Job) -> _Task:
        stored, vectors = None, b""
        if job.action == "rescore":
            stored = self.store.stored_transcript_json(job.call_id)
            vectors = self._stored_vectors(stored)
        return _Task(path=str(job.path), kind=job.kind, stored=stored, vectors=vectors, part=job.part, names=job.names,
                     script=job.script.content_hash() if job.script else None,
                     candidates=[sc.content_hash() for sc in self.scripts.candidates], level=job.level,
                     bands=job.bands,
                     voice=voice_vector(self.store, job.manager_key) if job.kind == "audio" else [])

    def _stored_vectors(self, stored: Optional[str]) -> bytes:
        """The stored embeddings of a stored transcript's sentences: a re-score then embeds only new text."""
        from compliance.scoring.embeddings import (
            MODEL_ID,
            pack_vectors,
            transcript_sentences,
        )

        if not stored:
            return b""
        texts = transcript_sentences(Transcript.model_validate_json(stored).segments)
        return pack_vectors(self.store.load_embeddings(MODEL_ID, texts))

    def _scripts_json(self) -> list[str]:
        used = {sc.content_hash(): sc for sc in self.scripts.candidates}
        used.update(self.spill.scripts)  # those the planned jobs name
        self.by_hash.update(used)
        return [sc.model_dump_json() for sc in used.values()]

    def _save(self, job: _Job, done: _Done) -> None:
        if job.kind == "audio" and job.action == "analyse":
            self.audio_done += job.duration
            self.summary.audio_seconds += job.duration
        if not done.ok:
            self._fail(shown_path(job.path), done.error_kind, done.error, job.content_hash)
            return
        script = self.by_hash[done.script]
        result = CallResult.model_validate_json(done.result_json)
        result.file, result.manager = job.file, job.manager_key
        record = CallRecord(
            call_id=job.call_id, file=job.file, manager=job.manager_key,
            manager_name=job.manager.name if job.manager else "", date=job.date, time=job.att.time,
            level=job.level, result=result, audio=job.file if job.kind == "audio" else None,
            model=_model_of(done.transcript_json), analysed_at=dt.datetime.now().isoformat(timespec="seconds"),
        )
        meta = CallMeta(kind=job.kind, phone=job.att.phone, unknown_manager=job.manager is None,
                        script_choice=job.script_choice, score_key=job.score_key,
                        transcribe_key=job.transcribe_key, source_root=str(self.o.folder.resolve()),
                        source_key=job.source_key, content_hash=job.content_hash,
                        attribution={**job.att.model_dump(exclude={"sources"}, exclude_none=True),
                                     "sources": job.att.sources})
        if done.script not in self.saved_scripts:
            self.store.save_script(script)
            self.saved_scripts.add(done.script)
        outcome = Outcome.RESCORED if job.action == "rescore" else Outcome.ANALYSED
        if done.vectors:
            from compliance.scoring.embeddings import MODEL_ID, unpack_vectors

            self.store.save_embeddings(MODEL_ID, unpack_vectors(done.vectors))
        self.store.save_call(record, meta, self.summary.batch_id, outcome, transcript_json=done.transcript_json)
        self._note_decisions(job, result, script)
        if outcome is Outcome.RESCORED:
            self.summary.rescored += 1
        else:
            self.summary.analysed += 1
        if not result.connected:
            self.summary.not_connected += 1
        self.dates.add((job.manager_key, job.date))
        self._emit(FileOutcome(file=job.file, outcome=outcome, call_id=job.call_id, manager=job.manager_key,
                               date=job.date, level=job.level, unknown_manager=job.manager is None,
                               script_id=script.id, script_choice=job.script_choice, connected=result.connected,
                               adherence=result.adherence, verdict=result.verdict))

    def _note_decisions(self, job: _Job, result: CallResult, script: SalesScript) -> None:
        """Say which of the lead's decisions on this call a changed call or script put in question."""
        decisions = load_decisions(self.store.connection, [job.call_id]).get(job.call_id, [])
        for lost in orphaned(result, decisions, script.line_ids()):
            line = say("err.batch.decision_line", line=lost.line_text or lost.line_id) if lost.line_id else ""
            self.summary.notes.append(say("err.batch.decision_orphaned", file=job.file, stage=repr(lost.stage_id),
                                          line=line, by=lost.by, at=lost.at))
        if job.changed and decisions:
            self.summary.notes.append(say("err.batch.decisions_flagged", file=job.file, n=len(decisions)))

    # -- the whole batch -----------------------------------------------------------------------------
    def run(self) -> BatchSummary:
        folder = self.o.folder
        batch_id = self.store.begin_batch(str(folder.resolve()), self.o.model_dump(mode="json"))
        self._summary = BatchSummary(batch_id=batch_id, folder=str(folder), db=str(self.o.db))
        status = "interrupted"
        try:
            self._sync_managers()
            exclude = [self.o.db, Path(f"{self.o.db}-wal"), Path(f"{self.o.db}-shm")]
            if self.o.out_dir:
                exclude.append(self.o.out_dir)
            folder_failures: list[Failure] = []
            ignored = _Count()
            for path in walk(folder, exclude, folder_failures, ignored):  # to disk: sorted there, not in memory
                self.spill.add_path(path)
            if ignored.n:
                self.summary.notes.append(say("err.batch.transcripts_ignored", n=ignored.n))
            found = self.spill.path_count()
            self.total = found + len(folder_failures)
            self.summary.total = found
            self._emit()
            for failure in folder_failures:
                self._fail(failure.file, failure.kind, failure.reason)
            if self.o.manifest is not None:
                for row in unmatched_rows(self.manifest_rows, folder, self.o.manifest.parent, self.spill.paths()):
                    self._fail(shown_path(row.file), "manifest", say("err.batch.manifest_row", folder=folder,
                                                                       manifest=shown_path(self.o.manifest)))
            self._plan(self.spill.paths())
            self._skip(self.spill.lane("skip"))
            self.audio_total = self.spill.audio_seconds()
            self.planned = True
            self._emit()  # the step the reader sees now: loading the models (recordings) or scoring
            self._execute(self.spill.lane("audio"), self.spill.lane("local"))
            self._finish_summary()
            self.store.resolve_failures_under(os.path.abspath(folder), batch_id)
            status = "done"
        except sqlite3.OperationalError as exc:  # each call is one transaction: those stored are whole
            self.summary.interrupted = True
            raise StoreError(say("err.batch.store", db=self.o.db, why=_store_trouble(exc))) from None
        except BaseException:
            self.summary.interrupted = True
            raise
        finally:
            self.summary.elapsed = time.monotonic() - self.t0
            try:
                self.store.finish_batch(batch_id, self.summary.model_dump(mode="json", exclude={"files"}), status)
            except sqlite3.OperationalError:
                pass  # the same full disk: the batch row stays "running", its dead pid reads as interrupted
        return self.summary

    def _skip(self, skips: Iterable[_Job]) -> None:
        for job in skips:
            self.store.note_outcome(self.summary.batch_id, job.call_id, Outcome.SKIPPED)
            self.summary.skipped += 1
            self.dates.add((job.manager_key, job.date))
            if job.manager is None:
                self.unknown.add(job.manager_key)
            self._emit(FileOutcome(file=job.file, outcome=Outcome.SKIPPED, call_id=job.call_id, manager=job.manager_key,
                                   date=job.date, level=job.level, unknown_manager=job.manager is None))

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
            band = self.team.targets_for(manager).daily_band if self.team else DAILY_TARGET
            for day in self.store.daily_counts(manager=manager, since=date, until=date):
                self.summary.kpi.append(_kpi(day, names.get(manager, ""), band))


class _Count:
    """Counts what is appended to it (files the walk ignores: only their number is said)."""

    n = 0

    def append(self, _item: object) -> None:
        self.n += 1


def _store_trouble(exc: sqlite3.OperationalError) -> str:
    text = str(exc).lower()
    if "full" in text or "no space" in text:
        return say("err.batch.disk_full")
    if "locked" in text or "busy" in text:
        return say("err.batch.busy")
    return say("err.batch.cannot_write", why=sqlite_reason(exc))


def _kpi(day: DayCount, name: str, band: tuple[int, int]) -> DayKpi:
    return DayKpi(manager=day.manager, manager_name=name, date=day.date, calls=day.calls, connected=day.connected,
                  chats=day.chats, chats_replied=day.chats_replied, target=band)


def run_batch(options: BatchOptions, progress: Optional[ProgressCallback] = None) -> BatchSummary:
    """Analyse a folder of recordings and transcripts into the history database.

    Unchanged files are skipped; files whose script, level or attribution changed are re-scored from
    the stored transcript; new files are transcribed (one model, on threads) and scored. Every call is
    committed on its own. Reports are written to ``options.out_dir`` when given.

    Raises:
        ComplianceError: a bad option (script, roster, manifest, pattern, database); per-file problems
            never raise, they are in ``summary.failures``.
        KeyboardInterrupt: the batch was interrupted (what was finished is stored).
    """
    if not options.folder.is_dir():
        raise ComplianceError(say("err.batch.no_folder", folder=options.folder))
    if options.out_dir and Path(os.path.abspath(options.db)).is_relative_to(os.path.abspath(options.out_dir)):
        raise ComplianceError(say("err.batch.db_in_out", db=options.db, out=options.out_dir))
    run = _Run(options, progress)
    try:
        summary = run.run()
        if options.out_dir:
            summary.reports = write_batch_reports(run.store, options.out_dir, summary, team=run.team,
                                                  scripts=run.scripts.by_id, lang=options.lang,
                                                  copy_audio=options.copy_audio)
        return summary
    finally:
        run.spill.close()
        run.store.close()
