"""``compliance pipedrive push``: each analysed call (or chat) written to Pipedrive as a note on its deal, else its
person, so the manager's CRM entry is written for them; optionally a call log where the telephony made none, with
the recording attached.

Idempotent: what was written is kept in the history (``crm.ledger``); a call whose note content is unchanged is
not sent again, a re-scored (or corrected) call updates its note in place. A dry run reads Pipedrive to find
targets and writes nothing anywhere.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Optional

from pydantic import BaseModel, Field

from compliance.errors import CrmError
from compliance.history.roster import Team
from compliance.history.store import Store
from compliance.scoring.connection import MESSAGE_WORDS, voicemail_marker
from compliance.scoring.result import CallRecord, CallResult
from compliance.scoring.transcript import Transcript
from compliance.text.catalogue import say
from compliance.text.normalize import iter_words

from .ledger import Pushed, drop_pushed, load_pushed, save_pushed
from .match import PIPEDRIVE_TIME, Matcher, call_start_utc, load_zone
from .note import content_hash, mark_note, note_marker, render_note
from .pipedrive import PipedriveClient, UnsureWrite

_NOTE_TRIES = 3         # POSTs of one note whose answers were lost, each looked up before the next


class PushOptions(BaseModel):
    """Which calls, and what to write besides notes."""

    since: Optional[dt.date] = None
    dry_run: bool = False
    create_call_logs: bool = False
    attach_recordings: bool = False
    lang: str = "ru"
    timezone: Optional[str] = None            # the recorder's clock (IANA name); None: this machine's
    tolerance_minutes: float = Field(default=5.0, gt=0, le=24 * 60)


class PushAction(BaseModel):
    """One thing written (or, in a dry run, to be written)."""

    file: str
    action: str                                # note_created | note_updated | call_log_created | recording_attached
    target: str                                # "deal 12, person 7", "call log 4f2…"


class PushSkip(BaseModel):
    file: str
    reason: str


class PushSummary(BaseModel):
    """What a push did."""

    dry_run: bool = False
    calls: int = 0
    notes_created: int = 0
    notes_updated: int = 0
    unchanged: int = 0
    call_logs_created: int = 0
    recordings_attached: int = 0
    actions: list[PushAction] = Field(default_factory=list)
    skipped: list[PushSkip] = Field(default_factory=list)      # no deal or person found, no time for a call log…
    failed: list[PushSkip] = Field(default_factory=list)       # Pipedrive rejected a request for this call
    without_user: list[str] = Field(default_factory=list)      # managers with no pipedrive_user_id in the roster
    stopped: Optional[str] = None                               # why the push stopped early (token, service down)
    requests: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.stopped else (3 if self.failed else 0)


def call_outcome(result: CallResult, transcript: Optional[Transcript]) -> str:
    """Pipedrive's call-log outcome for an analysed call.

    A call that did not connect is no contact here (as in the daily KPI): ``wrong_number`` when a wrong number was
    recognised, ``left_voicemail`` when an answering machine spoke and the manager left a message after it, else
    ``no_answer``.
    """
    if result.connected:
        return "connected"
    if result.not_connected and result.not_connected.code == "wrong_number":
        return "wrong_number"
    segments = transcript.segments if transcript else []
    known = any(s.speaker != "unknown" for s in segments)
    other = " ".join(s.text for s in segments if not known or s.speaker != "manager")
    if result.not_connected and result.not_connected.code == "voicemail_left":
        return "left_voicemail"
    if voicemail_marker(other) or (result.not_connected and result.not_connected.code == "voicemail"):
        said = sum(1 for s in segments if s.speaker == "manager" for _ in iter_words(s.text))
        left = said >= MESSAGE_WORDS if known else sum(1 for _ in iter_words(other)) >= 3 * MESSAGE_WORDS
        return "left_voicemail" if left else "no_answer"
    return "no_answer"


def push_to_pipedrive(store: Store, client: PipedriveClient, options: PushOptions,
                      team: Team | None = None) -> PushSummary:
    """Write the stored calls since ``options.since`` to Pipedrive (or, in a dry run, say what would be written).

    Per-call rejections are listed in ``failed`` and the push goes on; a refused token, a missing permission or a
    service that stays down stop it (``stopped``): what was written before is recorded.

    Raises:
        CrmError: a bad ``options.timezone``.
    """
    run = _Push(store, client, options, team)
    for record in store.calls(since=options.since):
        run.out.calls += 1
        try:
            run.one(record)
        except CrmError as exc:
            if exc.fatal:
                run.out.stopped = str(exc)
                break
            run.out.failed.append(PushSkip(file=record.file, reason=str(exc)))
    run.out.requests = client.requests
    return run.out


class _Push:
    def __init__(self, store: Store, client: PipedriveClient, options: PushOptions, team: Team | None) -> None:
        self.store, self.client, self.o, self.team = store, client, options, team
        self.zone = load_zone(options.timezone)
        self.matcher = Matcher(client, self.zone, dt.timedelta(minutes=options.tolerance_minutes))
        self.pushed = load_pushed(store, client.base_url)
        self.out = PushSummary(dry_run=options.dry_run)

    def one(self, record: CallRecord) -> None:
        content = render_note(record, self.o.lang)
        digest = content_hash(content)
        prev = self.pushed.get(record.call_id)
        want_log = self.o.create_call_logs and record.result.channel == "call"
        want_rec = want_log and self.o.attach_recordings and bool(record.audio)
        if (prev and prev.content_hash == digest and (not want_log or prev.call_log_id)
                and (not want_rec or prev.recording or not prev.call_log_created)):
            self.out.unchanged += 1
            return
        row = prev.model_copy() if prev else Pushed(call_id=record.call_id, account=self.client.base_url)
        if row.note_id is None or (want_log and not row.call_log_id):
            meta = self.store.call_meta(record.call_id)
            target = self.matcher.target(record, meta.phone if meta else None)
            if row.note_id is None:
                if not target.found:
                    self.out.skipped.append(PushSkip(file=record.file, reason=target.reason))
                    return
                row.deal_id, row.person_id = target.deal_id, target.person_id
            row.call_log_id = row.call_log_id or target.call_log_id
        user = self._user(record)
        self._note(record, row, content, digest, user)
        if want_log and not row.call_log_id:
            self._call_log(record, row, user)
        if want_rec and row.call_log_created and not row.recording:
            self._recording(record, row)
        if not self.o.dry_run and row.note_id is not None and row != prev:
            self._save(row)  # e.g. the telephony's call log found: not looked up again

    def _user(self, record: CallRecord) -> Optional[int]:
        manager = self.team.get(record.manager) if self.team else None
        user = manager.pipedrive_user_id if manager else None
        if user is None and record.manager not in self.out.without_user:
            self.out.without_user.append(record.manager)
        return user

    def _note(self, record: CallRecord, row: Pushed, content: str, digest: str, user: Optional[int]) -> None:
        if row.note_id is not None and row.content_hash == digest:
            return
        update = row.note_id is not None
        if not self.o.dry_run:
            content = mark_note(content, note_marker(record.call_id), self.o.lang)
            if update:
                try:
                    self.client.put(f"/notes/{row.note_id}", {"content": content})
                except CrmError as exc:
                    if exc.status != 404:
                        raise
                    update, row.note_id = False, None  # deleted in Pipedrive since: write it again
            if not update:
                self._create_note(record, row, content, user)
            row.content_hash = digest
            self._save(row)
        where = ", ".join(x for x in (f"deal {row.deal_id}" if row.deal_id else "",
                                      f"person {row.person_id}" if row.person_id else "") if x)
        self.out.actions.append(PushAction(file=record.file, action="note_updated" if update else "note_created",
                                           target=f"note {row.note_id} ({where})" if update else where))
        self.out.notes_updated += int(update)
        self.out.notes_created += int(not update)

    def _create_note(self, record: CallRecord, row: Pushed, content: str, user: Optional[int]) -> None:
        """POST the note once: the intent is recorded first, and after an answer that never came (or an earlier
        run's) the note is looked up by its marker on its deal or person instead of being posted again."""
        marker = note_marker(record.call_id)
        earlier = self.pushed.get(record.call_id)
        if earlier is not None and earlier.note_id is None:         # an earlier run may have made it
            found = self._find_note(earlier, marker)
            if found is not None:
                row.note_id, row.deal_id, row.person_id = found, earlier.deal_id, earlier.person_id
                return
        self._save(row.model_copy(update={"note_id": None, "content_hash": ""}))
        body: dict[str, Any] = {"content": content, "deal_id": row.deal_id, "person_id": row.person_id,
                                "user_id": user}
        for _ in range(_NOTE_TRIES):
            try:
                data = self.client.post("/notes", {k: v for k, v in body.items() if v is not None}, once=True)
                row.note_id = _new_id(data)
            except UnsureWrite:
                row.note_id = None
            except CrmError:
                self._forget_intent(record.call_id, earlier)   # plainly refused: nothing was made
                raise
            row.note_id = row.note_id or self._find_note(row, marker)
            if row.note_id is not None:
                return
        raise CrmError(say("err.crm.note_unsure", times=_NOTE_TRIES, marker=marker), fatal=False)

    def _forget_intent(self, call_id: str, earlier: Optional[Pushed]) -> None:
        if earlier is not None and earlier.note_id is not None:
            self._save(earlier)
        else:
            drop_pushed(self.store, call_id, self.client.base_url)
            self.pushed.pop(call_id, None)

    def _find_note(self, where: Pushed, marker: str) -> Optional[int]:
        """The id of the note bearing ``marker`` on the deal (else the person) of ``where``."""
        params = {"deal_id": where.deal_id} if where.deal_id else {"person_id": where.person_id}
        for note in self.client.paginate("/notes", params):
            if marker in str(note.get("content") or ""):
                return _new_id(note)
        return None

    def _call_log(self, record: CallRecord, row: Pushed, user: Optional[int]) -> None:
        start = call_start_utc(record, self.zone)
        meta = self.store.call_meta(record.call_id)
        if start is None or meta is None or not meta.phone:
            self.out.skipped.append(PushSkip(file=record.file, reason=say("err.crm.no_call_log")))
            return
        seconds = int(round(record.result.duration or 0))
        body: dict[str, Any] = {
            "outcome": call_outcome(record.result, record.transcript), "to_phone_number": meta.phone,
            "start_time": start.strftime(PIPEDRIVE_TIME),
            "end_time": (start + dt.timedelta(seconds=seconds)).strftime(PIPEDRIVE_TIME),
            "duration": str(seconds), "subject": record.result.script_title or record.result.script_id,
            "person_id": row.person_id, "deal_id": row.deal_id, "user_id": user,
        }
        if not self.o.dry_run:
            # Never sent twice: an unsure answer fails this call, and the next push finds the log by number and time
            data = self.client.post("/callLogs", {k: v for k, v in body.items() if v is not None}, once=True)
            log_id = data.get("id") if isinstance(data, dict) else None
            if not log_id:
                raise CrmError(say("err.crm.call_log_no_id"), fatal=False)
            row.call_log_id, row.call_log_created = str(log_id), True
            self._save(row)
        self.out.call_logs_created += 1
        self.out.actions.append(PushAction(file=record.file, action="call_log_created",
                                           target=f"{body['outcome']}, {body['start_time']} UTC"))

    def _recording(self, record: CallRecord, row: Pushed) -> None:
        audio = Path(record.audio or "")
        if not audio.is_file():
            self.out.skipped.append(PushSkip(file=record.file, reason=say("err.crm.recording_gone", audio=audio)))
            return
        if not self.o.dry_run:
            self.client.upload(f"/callLogs/{row.call_log_id}/recordings", audio)  # False: it had one (409), fine
            row.recording = True
            self._save(row)
        self.out.recordings_attached += 1
        self.out.actions.append(PushAction(file=record.file, action="recording_attached",
                                           target=f"call log {row.call_log_id}"))

    def _save(self, row: Pushed) -> None:
        save_pushed(self.store, row)
        self.pushed[row.call_id] = row


def _new_id(data: object) -> Optional[int]:
    """The id of what Pipedrive made or holds; None when its answer has none (``data: null``)."""
    value = data.get("id") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return None
    try:
        return int(value) or None
    except ValueError:
        return None
