"""What was written to a CRM for each call, kept in the history (table ``crm_pushes``).

One row per call and account (the API URL: two Pipedrive companies never share note ids). A row is saved after
each step that created something, so a push stopped half-way never creates the same note or call log twice; and
before a note is posted, its intent (a row without ``note_id``), so a note whose answer was lost is looked up by
its marker, never posted again.
"""
from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Optional

from pydantic import BaseModel

from compliance.history.store import Store


class Pushed(BaseModel):
    """What a CRM holds for one call."""

    call_id: str
    account: str
    note_id: Optional[int] = None
    deal_id: Optional[int] = None
    person_id: Optional[int] = None
    call_log_id: Optional[str] = None
    call_log_created: bool = False      # the call log is ours (a recording may be attached to it)
    recording: bool = False
    content_hash: str = ""


def load_pushed(store: Store, account: str) -> dict[str, Pushed]:
    """Every call already pushed to this account, by call id (none in a history from before pushes)."""
    try:
        rows = store.query("SELECT * FROM crm_pushes WHERE account = ?", (account,))
    except sqlite3.OperationalError:
        return {}  # a history from before this table, opened read-only for a dry run
    return {r["call_id"]: Pushed(call_id=r["call_id"], account=r["account"], note_id=r["note_id"],
                                 deal_id=r["deal_id"], person_id=r["person_id"], call_log_id=r["call_log_id"],
                                 call_log_created=bool(r["call_log_created"]), recording=bool(r["recording"]),
                                 content_hash=r["content_hash"]) for r in rows}


def save_pushed(store: Store, row: Pushed) -> None:
    """Record (or update) what the CRM holds for one call."""
    store.execute(
        "INSERT INTO crm_pushes (call_id, account, note_id, deal_id, person_id, call_log_id, call_log_created, "
        "recording, content_hash, pushed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(call_id, account) DO UPDATE SET note_id = excluded.note_id, deal_id = excluded.deal_id, "
        "person_id = excluded.person_id, call_log_id = excluded.call_log_id, "
        "call_log_created = excluded.call_log_created, recording = excluded.recording, "
        "content_hash = excluded.content_hash, pushed_at = excluded.pushed_at",
        (row.call_id, row.account, row.note_id, row.deal_id, row.person_id, row.call_log_id,
         int(row.call_log_created), int(row.recording), row.content_hash,
         dt.datetime.now().isoformat(timespec="seconds")))


def drop_pushed(store: Store, call_id: str, account: str) -> None:
    """Forget a call's row: an intent to write a note that Pipedrive then plainly refused."""
    store.execute("DELETE FROM crm_pushes WHERE call_id = ? AND account = ?", (call_id, account))
