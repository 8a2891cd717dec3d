"""``compliance fetch``: a period's calls from a cloud PBX into the recordings root, resumable and idempotent.

Every call the PBX lists becomes one ``pbx_calls`` row by its PBX id, so a second fetch of the same period finds
each call known and downloads nothing; a call that failed (a cut download, an expired link asked for again and
refused again, an extension no manager has yet) is listed and taken up again by the next fetch, whatever its
period. Answered, recorded calls land in ``ROOT/MANAGER/DATE/`` — the layout ``compliance batch`` reads — with
their PBX metadata beside them in ``<file>.pbx.json``; anything else is a dial, counted in the daily report and
never scored. Nothing half-written is ever in the root: a download is renamed in only when complete.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path, PurePosixPath
from typing import Callable, Optional
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from compliance.errors import SourceError
from compliance.files import write_atomic
from compliance.history.pbx import RETRY_STATUSES, PbxRow
from compliance.history.roster import Team
from compliance.history.store import Store
from compliance.messages import Message
from compliance.sources.http import Downloaded, LinkRefused
from compliance.sources.model import SIDECAR_SUFFIX, CallStatus, PbxCall, Provider, mask_number, safe_id
from compliance.text.catalogue import say
from compliance.text.os_errors import describe_write_error

# A PBX may store a recording minutes after the call ends (Zadarma tells with a later NOTIFY_RECORD): a recording
# missing this soon after the call is not gone yet, only late.
RECORDING_DELAY = dt.timedelta(hours=3)
_AUDIO = (".mp3", ".wav", ".ogg", ".opus", ".m4a", ".aac", ".flac", ".webm")


class FetchOptions(BaseModel):
    mask_numbers: bool = False      # keep client numbers masked everywhere (history, metadata files)


class FetchSummary(BaseModel):
    """What one fetch did: a status per call, and requests that failed as a whole (a day's listing)."""

    statuses: list[CallStatus] = Field(default_factory=list)
    listing_errors: list[str] = Field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses if s.status == status)

    @property
    def complete(self) -> bool:
        """Nothing left to retry: no failure, no unassigned extension, every listing read."""
        return not self.listing_errors and not any(s.status in ("failed", "unassigned") for s in self.statuses)


def fetch_period(provider: Provider, store: Store, root: Path, team: Optional[Team], since: Optional[dt.date],
                 until: Optional[dt.date], *,
                 options: FetchOptions | None = None,
                 on_status: Callable[[CallStatus], None] = lambda s: None) -> FetchSummary:
    """Fetch the calls of ``since``…``until`` (dates, inclusive; ``since`` None: no listing) and the calls left to
    retry or queued by a webhook.

    Raises:
        SourceError: only a fatal one (a refused key, a disabled account, a root that cannot be written); the
            calls handled before it are kept.
    """
    options = options or FetchOptions()
    summary = FetchSummary()
    calls: dict[str, PbxCall] = {}
    try:
        for call in provider.calls(since, until or since) if since is not None else ():
            calls[call.call_id] = call
    except SourceError as exc:
        if exc.fatal:
            raise
        summary.listing_errors.append(str(exc))
    for row in store.pbx_calls(provider.name, RETRY_STATUSES):
        if row.pbx_call_id not in calls:
            try:
                calls[row.pbx_call_id] = PbxCall.model_validate(row.call)
            except ValueError:
                continue  # a queued note without enough to fetch: the period's listing brings it
    for call in sorted(calls.values(), key=lambda c: (c.start, c.call_id)):
        status = fetch_call(provider, store, root, team, call, options)
        summary.statuses.append(status)
        on_status(status)
    return summary


def fetch_call(provider: Provider, store: Store, root: Path, team: Optional[Team], call: PbxCall,
               options: FetchOptions) -> CallStatus:
    """One call: known and present → nothing; a dial → counted; answered → its recording downloaded.

    Raises:
        SourceError: a fatal one (the row is kept as failed first).
    """
    if options.mask_numbers:
        call = call.model_copy(update={"client": mask_number(call.client)})
    known = store.pbx_call(provider.name, call.call_id)
    if known and known.status == "fetched" and known.file and (root / known.file).is_file():
        return CallStatus(call_id=call.call_id, status="present", note=Message(code="pbx_present"), file=known.file)
    if known and known.status == "gone":
        return CallStatus(call_id=call.call_id, status="gone",
                          note=Message(code="pbx_gone", params={"reason": known.reason or "no recording"}))
    row = PbxRow(provider=provider.name, pbx_call_id=call.call_id, extension=call.extension,
                 direction=call.direction, date=call.date, started_at=call.start.isoformat(),
                 talk_seconds=call.talk_seconds, disposition=call.disposition, status="pending",
                 attempts=known.attempts if known else 0, call=call.model_dump(mode="json"))
    manager = team.by_extension(call.extension) if team else None
    if manager is None:
        row.status = "unassigned"
        note = Message(code="pbx_unassigned", params={"extension": call.extension or "—"})
        row.reason = note.text("en")
        store.save_pbx_call(row)
        return CallStatus(call_id=call.call_id, status="unassigned", note=note)
    row.manager = manager.id
    if not call.scorable:
        row.status = "dial"
        note = Message(code="pbx_dial_unrecorded" if call.disposition == "answered"
                       else f"pbx_dial_{call.disposition}")
        row.reason = note.text("en")
        store.save_pbx_call(row)
        return CallStatus(call_id=call.call_id, status="dial", note=note)
    dest = root / manager.id / call.date / _file_name(call)
    try:
        got = _download(provider, call, dest)
    except SourceError as exc:
        row.attempts += 1
        gone = exc.gone and dt.datetime.now() - call.start > RECORDING_DELAY
        row.status = "gone" if gone else "failed"
        note = Message(code=f"pbx_{row.status}", params={"reason": str(exc)})
        row.reason = str(exc)
        store.save_pbx_call(row)
        if exc.fatal:
            raise
        return CallStatus(call_id=call.call_id, status=row.status, note=note)
    rel = PurePosixPath(*got.path.relative_to(root).parts).as_posix()
    sidecar = got.path.with_name(got.path.name + SIDECAR_SUFFIX)
    try:
        write_atomic(sidecar, json.dumps({**call.model_dump(mode="json"), "manager": manager.id,
                                          "file": got.path.name, "sha256": got.sha256, "size": got.size},
                                         ensure_ascii=False, indent=1))
    except OSError as exc:
        raise SourceError(say("err.pbx.sidecar", path=sidecar, why=describe_write_error(sidecar, exc)),
                          fatal=True) from None
    row.status, row.reason, row.file, row.content_hash = "fetched", None, rel, got.sha256
    store.save_pbx_call(row)
    return CallStatus(call_id=call.call_id, status="fetched",
                      note=Message(code="pbx_fetched", params={"size": got.size, "file": rel}), file=rel)


def _download(provider: Provider, call: PbxCall, dest: Path) -> Downloaded:
    """Ask for a link and download; an expired or refused link is asked for once more."""
    for attempt in (1, 2):
        link = provider.record_link(call)
        try:
            return provider.http.download(link, dest.with_suffix(_suffix(link)))
        except LinkRefused as exc:
            if attempt == 2:
                if exc.gone:
                    raise SourceError(say("err.pbx.gone"), gone=True) from None
                raise SourceError(say("err.pbx.link_twice", status=exc.status)) from None
    raise AssertionError("unreachable")


def _suffix(link: str) -> str:
    suffix = PurePosixPath(urlsplit(link).path).suffix.lower()
    return suffix if suffix in _AUDIO else ".mp3"


def _file_name(call: PbxCall) -> str:
    """``2026-11-27_10-31-02_out_binotel-123456.mp3``: sorts by time, tells the call apart, carries no number."""
    return f"{call.start:%Y-%m-%d_%H-%M-%S}_{call.direction}_{call.provider}-{safe_id(call.call_id)}.mp3"
