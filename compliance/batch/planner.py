"""Planning a batch: one job per call in the folder, each found in the history by where it came from.

A file's call is identified by (the folder walked, its path under it), a chat by its chat id; its content hash
is kept apart. Per call: skip (unchanged), re-score from the stored transcript (script, level or attribution
changed), analyse (new), or analyse again in place (the same source with new content: a corrected transcript,
a chat exported again). Content already stored under another identity is a duplicate: listed with both places,
scored once where it was first stored (among new copies: a roster manager's, then the first path), never moved.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional

from compliance.errors import ComplianceError, ScriptError
from compliance.files import shown_path
from compliance.history.attribution import Attribution, attribute
from compliance.history.identity import Duplicate, now
from compliance.pipeline import file_kind
from compliance.scoring.result import Outcome
from compliance.text.catalogue import LANGUAGES, say, text
from compliance.text.os_errors import os_reason

from .chats import ChatUnit, chat_read_key, chat_units
from .discover import _file_hash
from .models import FileOutcome
from .plan import _audio_duration, _Job, _pick_script, _score_key

if TYPE_CHECKING:
    from compliance.history.roster import Team
    from compliance.history.store import Store

    from .models import BatchOptions, BatchSummary
    from .plan import _Scripts, _Transcription
    from .spill import PlanSpill


def new_call_id(root: str, source_key: str) -> str:
    """The id of a call first met at ``source_key`` under ``root``: it never changes after."""
    return hashlib.sha256(f"{root}\0{source_key}".encode("utf-8")).hexdigest()


class _Planner:
    """The planning half of a batch run (mixed into ``_Run``, which sets these)."""

    if TYPE_CHECKING:
        o: BatchOptions
        store: Store
        team: Optional[Team]
        patterns: Any
        manifest: Any
        total: int
        unknown: set[str]
        scripts: _Scripts
        tx: _Transcription
        spill: PlanSpill

        @property
        def summary(self) -> BatchSummary: ...

        def _fail(self, file: str, kind: str, reason: str, call_id: str | None = None) -> None: ...

        def _emit(self, outcome: FileOutcome | None = None) -> None: ...

    def _plan(self, paths: Iterable[Path]) -> None:
        """Plan every file into ``self.spill`` (on disk): its lanes then hold the skips, the recordings to
        transcribe and the rest; each stored call is looked up by index, one file at a time."""
        root = str(self.o.folder.resolve())
        # A file that failed before with the same content fails the same way: each retry starts a worker and
        # loads the model. It is listed again, not retried, unless it changed or --retry-failed is given.
        failed_before = {} if self.o.retry_failed else {
            f.content_hash: f for f in self.store.failures()
            if f.content_hash and f.kind in ("audio", "transcript", "score")}
        known = list(self.team.managers) if self.team else []
        for path in paths:
            kind = file_kind(path)
            try:
                file_hash = _file_hash(path)
            except OSError as exc:
                self._fail(shown_path(path), "unreadable", say("err.batch.unreadable", why=os_reason(exc)))
                continue
            if file_hash in failed_before:
                before = failed_before[file_hash]
                reason = _first_reason(before.reason)
                self._fail(shown_path(path), before.kind, say("err.batch.failed_before", reason=reason), file_hash)
                continue
            att = attribute(path, self.o.folder, patterns=self.patterns, manifest=self.manifest,
                            known_managers=known, default_date=self.o.default_date)
            rel = shown_path(os.path.relpath(os.path.abspath(path), os.path.abspath(self.o.folder)))
            for unit in self._units(path, kind, file_hash, att):
                job = self._job(path, kind, unit)
                if job is None:
                    continue
                job.source_key = unit.chat_key or rel + (f"#{unit.part}" if unit.part else "")
                keys = [job.source_key] + ([rel + (f"#{unit.part}" if unit.part else "")] if unit.chat_key else [])
                self.spill.add_found(job, self.store.find_source(root, keys, job.file))
        self._settle_identities(root)

    def _settle_identities(self, root: str) -> None:
        """Each job's call id (its stored one, or a new one), duplicates set aside, and what to do with the rest."""
        spill = self.spill
        # Stored calls first, the fuller export of a chat before an older one (a call id taken in this run is
        # the chat's other export).
        for job, state in spill.stored():
            job.call_id = state.call_id
            holder = spill.taken(job.call_id)
            if holder is not None:
                self._duplicate(job, (holder, job.call_id), root, older_export=True)
                continue
            spill.take(job.call_id, job.file)
            spill.own(job.content_hash, job.file, job.call_id)
            if state.content_hash not in (None, job.content_hash):
                job.changed = True     # the same call, new content: analysed again, updated in place
                self._put(job)
                continue
            # A stored transcript is reusable when it came from the same transcription options.
            if state.has_transcript and state.transcribe_key == job.transcribe_key:
                if state.score_key == job.score_key:
                    spill.put("skip", job)
                    continue
                job.action = "rescore"
            self._put(job)
        # Among new copies of one content, the roster's manager's copy is scored (then the first path); content the
        # history holds already is a duplicate of the call stored first.
        for job in spill.new():
            owner = self.store.content_owner(job.content_hash) or spill.owner(job.content_hash)
            if owner is not None:
                self._duplicate(job, owner, root)
                continue
            job.call_id = new_call_id(root, job.source_key)
            spill.own(job.content_hash, job.file, job.call_id)
            spill.take(job.call_id, job.file)
            self._put(job)

    def _put(self, job: _Job) -> None:
        """A job to run: a new recording is probed for its length (progress; the longest are sent first)."""
        if job.kind == "audio" and job.action == "analyse":
            job.duration = _audio_duration(job.path)
            self.spill.put("audio", job)
        else:
            self.spill.put("local", job)

    def _duplicate(self, job: _Job, owner: tuple[str, str], root: str, older_export: bool = False) -> None:
        """List a copy of a call kept elsewhere (``owner``: its file and call id), with both places, and keep it
        in the history's duplicates."""
        scored, call_id = owner
        self.summary.duplicates += 1
        reason = say("err.batch.same_chat" if older_export else "err.batch.same_content", scored=scored)
        self.summary.notes.append(f"{job.file}: {reason}")
        at = now()
        self.store.note_duplicate(Duplicate(file=job.file, source_root=root, source_key=job.source_key,
                                            content_hash=job.content_hash, call_id=call_id, manager=job.manager_key,
                                            date=job.date, first_seen=at, last_seen=at), self.summary.batch_id)
        self._emit(FileOutcome(file=job.file, outcome=Outcome.DUPLICATE, call_id=call_id, manager=job.manager_key,
                               date=job.date, reason=reason))

    def _units(self, path: Path, kind: str, file_hash: str, att: Attribution) -> list[ChatUnit]:
        """The calls a file holds: itself, or each chat of a chat export (a broken export fails here)."""
        units = [ChatUnit(content_hash=file_hash, att=att, part=None)]
        if kind == "chat":
            try:
                units = chat_units(path, att, self.team)
            except ComplianceError as exc:
                self._fail(shown_path(path), "transcript", str(exc), file_hash)
                return []
            self.total += len(units) - 1  # progress counts calls: each chat of an export is one
        for unit in [u for u in units if not u.att.complete]:
            missing = say("err.and").join(say(f"err.batch.missing.{field}") for field in unit.att.missing())
            self._fail(shown_path(path), "unattributed", say("err.batch.unattributed", missing=missing),
                       unit.content_hash)
        return [u for u in units if u.att.complete]

    def _job(self, path: Path, kind: str, unit: ChatUnit) -> Optional[_Job]:
        att = unit.att
        key = att.manager or ""  # complete: the caller checked
        manager = self.team.get(key) if self.team else None
        if manager is None:
            self.unknown.add(key)
        level = att.level or (manager.level_on(att.date) if manager else "newcomer")
        try:
            script, choice = _pick_script(att, manager, self.scripts, self.team,
                                          self.o.manifest.parent if self.o.manifest else None, kind)
        except ScriptError as exc:
            self._fail(shown_path(path), "script", str(exc), unit.content_hash)
            return None
        names = self.team.chat_names() if self.team else []
        job = _Job(path=path, kind=kind, call_id="", att=att, manager=manager, level=level, script=script,
                   script_choice=choice, score_key="", transcribe_key="text" if kind == "transcript" else "",
                   part=unit.part, names=names, content_hash=unit.content_hash, size=unit.size,
                   bands=self.team.targets_for(key).model_dump()["bands"] if self.team else {})
        if kind == "chat":
            job.transcribe_key = chat_read_key(names)
        if kind == "audio":
            job.transcribe_key = self.tx.key()
        job.score_key = _score_key(job, script.content_hash() if script else self.scripts.auto_key())
        return job


def _first_reason(reason: str) -> str:
    """A stored failure's own reason, without the «failed before» tail an earlier run (in either language) added."""
    for lang in LANGUAGES:
        tail = text("err.batch.failed_before", lang, reason="\0").split("\0", 1)[1][:12]
        reason = reason.split(tail)[0]
    return reason
