"""Calls the cloud PBX reported, kept with the history (the ``pbx_calls`` table). A part of ``Store``.

Each row is one PBX call by its own id (the call's source identity): what the PBX said about it (``call``, as the
source read it), who made it, and how far ``compliance fetch`` got: ``fetched`` (the recording is in the recordings
root), ``dial`` (no answer or nothing recorded: counted, not scored), ``unassigned`` (an extension no manager has),
``failed`` (retried next time), ``gone`` (the PBX no longer has the recording), ``queued`` (a webhook announced it).
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, Iterable, Optional

from pydantic import BaseModel, Field

from compliance.history.schema import DayCount, day_filter

# Statuses a later fetch takes up again: nothing in them is final.
RETRY_STATUSES = ("failed", "unassigned", "queued", "pending")


class PbxRow(BaseModel):
    """One PBX call as the history keeps it."""

    provider: str
    pbx_call_id: str
    manager: Optional[str] = None
    extension: Optional[str] = None
    direction: str
    date: str
    started_at: str
    talk_seconds: int = 0
    disposition: str                       # answered | no_answer | busy | failed
    status: str                            # see the module docstring
    reason: Optional[str] = None
    file: Optional[str] = None             # relative to the recordings root
    content_hash: Optional[str] = None     # the recording's sha256: ``calls.content_hash`` once it is scored
    attempts: int = 0
    call: dict[str, Any] = Field(default_factory=dict)


class PbxDay(BaseModel):
    """What the PBX knows of one manager's day: every call, the ones the manager dialled, the ones answered."""

    manager: str
    date: str
    calls: int
    dials: int
    answered: int
    not_connected: int = 0                 # answered by the PBX, but scored as voicemail / an autoresponder


class PbxStore:
    """The ``pbx_calls`` table; mixed into ``Store`` (which gives ``_conn`` and ``_tx``)."""

    _conn: sqlite3.Connection

    def _tx(self) -> Any:
        raise NotImplementedError

    def pbx_call(self, provider: str, pbx_call_id: str) -> Optional[PbxRow]:
        """The stored row of one PBX call (None: never seen)."""
        if not self.has_table("pbx_calls"):
            return None
        row = self._conn.execute("SELECT * FROM pbx_calls WHERE provider = ? AND pbx_call_id = ?",
                                 (provider, pbx_call_id)).fetchone()
        return _row(row) if row else None

    def pbx_calls(self, provider: str | None = None, statuses: Iterable[str] | None = None) -> list[PbxRow]:
        """Stored PBX calls, oldest first; only these statuses when given."""
        if not self.has_table("pbx_calls"):
            return []
        where, args = ["1"], []
        if provider:
            where.append("provider = ?")
            args.append(provider)
        wanted = list(statuses or [])
        if wanted:
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            args.extend(wanted)
        rows = self._conn.execute(f"SELECT * FROM pbx_calls WHERE {' AND '.join(where)} "
                                  "ORDER BY started_at, pbx_call_id", args).fetchall()
        return [_row(r) for r in rows]

    def save_pbx_call(self, row: PbxRow) -> None:
        """Keep (or update) one PBX call; its id never changes, so a call fetched twice is one row."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO pbx_calls (provider, pbx_call_id, manager, extension, direction, date, started_at, "
                "talk_seconds, disposition, status, reason, file, content_hash, attempts, call_json, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (provider, pbx_call_id) DO UPDATE SET manager = excluded.manager, "
                "extension = excluded.extension, direction = excluded.direction, date = excluded.date, "
                "started_at = excluded.started_at, talk_seconds = excluded.talk_seconds, "
                "disposition = excluded.disposition, status = excluded.status, reason = excluded.reason, "
                "file = excluded.file, content_hash = excluded.content_hash, attempts = excluded.attempts, "
                "call_json = excluded.call_json, updated_at = excluded.updated_at",
                (row.provider, row.pbx_call_id, row.manager, row.extension, row.direction, row.date, row.started_at,
                 row.talk_seconds, row.disposition, row.status, row.reason, row.file, row.content_hash,
                 row.attempts, json.dumps(row.call, ensure_ascii=False, default=str), now))

    def queue_pbx_call(self, provider: str, pbx_call_id: str, call: dict[str, Any]) -> bool:
        """Note a call a webhook announced, for the next fetch; False when the call is already known (a webhook
        sent twice queues it once, and a call already fetched is not fetched again)."""
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO pbx_calls (provider, pbx_call_id, direction, date, started_at, disposition, "
                "status, call_json, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (provider, pbx_call_id, str(call.get("direction") or ""), str(call.get("start") or "")[:10],
                 str(call.get("start") or ""), str(call.get("disposition") or ""),
                 json.dumps(call, ensure_ascii=False, default=str), now))
            return cur.rowcount > 0

    def pbx_days(self, manager: str | None = None, since: str | None = None,
                 until: str | None = None) -> list[PbxDay]:
        """Per manager per day: PBX calls, dials (outgoing calls) and answered calls; answered calls whose recording
        was scored as not connected (voicemail, an autoresponder) are counted apart."""
        if not self.has_table("pbx_calls"):
            return []
        where, args = day_filter("p", manager, since, until, "p.manager IS NOT NULL", "p.status != 'queued'")
        rows = self._conn.execute(
            "SELECT p.manager, p.date, COUNT(*) AS calls, SUM(p.direction = 'out') AS dials, "
            "SUM(p.disposition = 'answered') AS answered, "
            "SUM(p.disposition = 'answered' AND c.connected = 0) AS not_connected "
            "FROM pbx_calls p LEFT JOIN calls c ON c.content_hash = p.content_hash "
            f"WHERE {where} GROUP BY p.manager, p.date ORDER BY p.date, p.manager", args).fetchall()
        return [PbxDay(manager=r["manager"], date=r["date"], calls=r["calls"] or 0, dials=r["dials"] or 0,
                       answered=r["answered"] or 0, not_connected=r["not_connected"] or 0) for r in rows]

    def with_pbx_counts(self, counts: list[DayCount], manager: str | None = None, since: str | None = None,
                        until: str | None = None) -> list[DayCount]:
        """Days of ``counts`` (from the scored calls) with what the PBX reported merged in: a PBX call counts once
        whether or not its recording was scored; an answered call counts as connected unless its recording was
        scored as not connected; unanswered calls count as calls and, when outgoing, as dials."""
        pbx = self.pbx_days(manager, since, until)
        if not pbx:
            return counts
        recorded = self._pbx_recorded(manager, since, until)
        by_day = {(c.manager, c.date): c for c in counts}
        for day in pbx:
            key = (day.manager, day.date)
            base = by_day.get(key) or DayCount(manager=day.manager, date=day.date, calls=0, connected=0)
            rec_calls, rec_connected = recorded.get(key, (0, 0))
            by_day[key] = base.model_copy(update={
                "calls": base.calls - rec_calls + day.calls,
                "connected": base.connected - rec_connected + day.answered - day.not_connected,
                "dials": day.dials})
        return sorted(by_day.values(), key=lambda c: (c.date, c.manager))

    def _pbx_recorded(self, manager: str | None, since: str | None,
                      until: str | None) -> dict[tuple[str, str], tuple[int, int]]:
        """Scored calls that are recordings of PBX calls, per manager and day: (calls, connected)."""
        where, args = day_filter("c", manager, since, until, "c.kind != 'chat'", "c.date IS NOT NULL")
        rows = self._conn.execute(
            "SELECT c.manager, c.date, COUNT(*) AS calls, SUM(c.connected) AS connected FROM calls c "
            "WHERE c.content_hash IN (SELECT content_hash FROM pbx_calls WHERE content_hash IS NOT NULL) "
            f"AND {where} GROUP BY c.manager, c.date", args).fetchall()
        return {(r["manager"], r["date"]): (r["calls"] or 0, r["connected"] or 0) for r in rows}

    def has_table(self, name: str) -> bool:  # pragma: no cover - Store's own
        raise NotImplementedError


def _row(row: sqlite3.Row) -> PbxRow:
    values = dict(row)
    try:
        call = json.loads(values.pop("call_json") or "{}")
    except ValueError:
        call = {}
    values.pop("updated_at", None)
    return PbxRow(**values, call=call if isinstance(call, dict) else {})
