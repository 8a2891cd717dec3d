"""Calls read without their stored results: what the pages, readiness and the export need of a year of history.

A call's summary is a ``CallRecord`` whose result holds what the columns and ``stage_results`` keep (connected,
adherence, coverage, structure, verdict, band, channel, review flags, recognition rating, and optionally each
stage's presence and score) and no lines, forbidden phrases or transcript. A call the lead decided on is read in
full, with the decisions applied (``decisions.apply_decisions``: the one home of what a decision changes), so a
summary says what the full record says. Mixed into ``Store``; the columns come with migration ``V11_SCALE``.

What the decisions make of a call's adherence is kept beside the machine's (``decided``, ``decided_adherence``,
migration ``V12_DECIDED``): ``refresh_decided`` stores ``apply_decisions``' output in the transaction that saves
the call or changes a decision on it, so the team page sums columns and never re-applies a decision.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from compliance.scoring.quality import RecognitionQuality
from compliance.scoring.result import CallRecord, CallResult, ReviewFlag, StageResult

from .decisions import Decision, LineIds, apply_decisions, load_decisions
from .schema import day_filter

Day = Union[str, dt.date, None]   # an ISO date, as ``Store.calls`` takes it
CHUNK = 500   # calls read at a time: a bounded amount of memory whatever the history's size
_NEWEST = "ORDER BY date DESC, time DESC, analysed_at DESC, call_id DESC"
_COLUMNS = ("call_id, file, manager, manager_name, date, time, level, kind, audio, model, analysed_at, script_id, "
            "script_hash, connected, adherence, coverage, structure, verdict, band_min, band_max, order_ok, duration, "
            "flagged, quality, CASE WHEN flagged > 0 THEN json_extract(result_json, '$.flags') END AS flags_json")
_ACTIVE = "SELECT call_id FROM overrides WHERE status = 'active'"
_READY = "FROM calls WHERE manager = ? AND level = ? AND connected = 1"
# What a period's row needs of a call, the lead's decisions included (stored by ``refresh_decided``): the columns of
# the covering index ``calls_period``, so no row (nor its stored result's overflow pages) is read.
_PERIOD_COLUMNS = ("call_id, file, manager, manager_name, date, time, level, kind, analysed_at, script_id, connected, "
                   "CASE WHEN decided = 1 THEN decided_adherence ELSE adherence END AS adherence, "
                   "CASE WHEN decided = 1 THEN decided_structure ELSE structure END AS structure, "
                   "CASE WHEN decided = 1 THEN decided_verdict ELSE verdict END AS verdict")


def refresh_decided(conn: sqlite3.Connection, call_ids: Iterable[str],
                    line_ids: Callable[[str], Optional[LineIds]]) -> None:
    """Store what the lead's active decisions make of these calls (``apply_decisions``' output): ``decided`` 1
    and the corrected adherence, structure and verdict where they change the result, 0 and NULLs where not.
    Called inside the transaction that saved the call or wrote the decision; ``line_ids`` gives a script
    version's line ids by its hash."""
    ids = list(dict.fromkeys(call_ids))
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        decisions = load_decisions(conn, part)
        marks = ", ".join("?" * len(part))
        undecided = [i for i in part if i not in decisions]
        if undecided:
            conn.execute("UPDATE calls SET decided = 0, decided_adherence = NULL, decided_structure = NULL, "
                         f"decided_verdict = NULL WHERE decided != 0 AND call_id IN ({', '.join('?' * len(undecided))})",
                         undecided)
        if not decisions:
            continue
        rows = conn.execute(f"SELECT call_id, result_json FROM calls WHERE call_id IN ({marks}) AND call_id IN "
                            "(SELECT call_id FROM overrides WHERE status = 'active')", part).fetchall()
        for call_id, result_json in rows:
            machine = CallResult.model_validate_json(result_json)
            result = apply_decisions(machine, decisions[call_id], line_ids(machine.script_hash))
            changed = result is not machine
            decided = (result.adherence, result.structure, result.verdict) if changed else (None, None, None)
            conn.execute("UPDATE calls SET decided = ?, decided_adherence = ?, decided_structure = ?, "
                         "decided_verdict = ? WHERE call_id = ?", (int(changed), *decided, call_id))


def add_decided_columns(conn: sqlite3.Connection) -> None:
    """Migration ``V12_DECIDED``: the columns, their index, and each decided call's adherence stored."""
    from .identity import script_line_ids

    have = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
    for column, kind in (("decided", "INTEGER NOT NULL DEFAULT 0"), ("decided_adherence", "REAL"),
                         ("decided_structure", "REAL"), ("decided_verdict", "TEXT")):
        if column not in have:
            conn.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
    conn.execute("CREATE INDEX IF NOT EXISTS calls_decided ON calls(manager, connected, adherence, decided_adherence) "
                 "WHERE decided = 1")
    cache: dict[str, Optional[LineIds]] = {}

    def line_ids(script_hash: str) -> Optional[LineIds]:
        if script_hash not in cache:
            cache[script_hash] = script_line_ids(conn, script_hash)
        return cache[script_hash]

    refresh_decided(conn, [r[0] for r in conn.execute(
        "SELECT DISTINCT call_id FROM overrides WHERE status = 'active'")], line_ids)


def _when(r: CallRecord) -> tuple[str, str, str, str]:
    return (r.date or "", r.time or "", r.analysed_at or "", r.call_id)


def _stage(r: sqlite3.Row) -> StageResult:
    return StageResult(id=r["stage_id"], title=r["title"] or "", required=bool(r["required"]),
                       applies=bool(r["applies"]), present=bool(r["present"]), score=r["score"], start=r["start"])


def _summary(r: sqlite3.Row, stages: list[StageResult]) -> CallRecord:
    flags = [ReviewFlag(**f) for f in json.loads(r["flags_json"] or "[]")]
    result = CallResult(
        file=r["file"], manager=r["manager"], script_id=r["script_id"], script_hash=r["script_hash"], level=r["level"],
        band=(r["band_min"] or 0.0, r["band_max"] or 0.0), connected=bool(r["connected"]), adherence=r["adherence"],
        coverage=r["coverage"], structure=r["structure"], verdict=r["verdict"], order_ok=bool(r["order_ok"]),
        channel="chat" if r["kind"] == "chat" else "call", duration=r["duration"], flags=flags, stages=stages,
        quality=RecognitionQuality(rating=r["quality"]) if r["quality"] else None)
    return CallRecord(call_id=r["call_id"], file=r["file"], manager=r["manager"], manager_name=r["manager_name"],
                      date=r["date"], time=r["time"], level=r["level"], result=result, audio=r["audio"],
                      model=r["model"], analysed_at=r["analysed_at"])


def _contact(r: sqlite3.Row) -> CallRecord:
    result = CallResult(file=r["file"], manager=r["manager"], script_id=r["script_id"], level=r["level"],
                        band=(0.0, 0.0), connected=bool(r["connected"]), adherence=r["adherence"],
                        structure=r["structure"], verdict=r["verdict"],
                        channel="chat" if r["kind"] == "chat" else "call")
    return CallRecord(call_id=r["call_id"], file=r["file"], manager=r["manager"], manager_name=r["manager_name"],
                      date=r["date"], time=r["time"], level=r["level"], result=result, analysed_at=r["analysed_at"])


class SummaryStore:
    """Summaries and bounded reads of calls; mixed into ``Store`` (which opens ``_conn`` and reads records)."""

    _conn: sqlite3.Connection
    _summarised: Optional[bool] = None
    script_line_ids: Callable[[str], Optional[LineIds]]   # Store's (identity)

    def _record(self, row: sqlite3.Row, with_transcript: bool, decisions: list[Decision]) -> CallRecord:
        raise NotImplementedError  # Store's

    @property
    def summarised(self) -> bool:
        """Whether the history keeps the summary columns (an older one opened read-only does not)."""
        if self._summarised is None:
            cols = {r[1] for r in self._conn.execute("PRAGMA table_info(calls)")}
            self._summarised = {"flagged", "structure", "quality", "decided", "decided_adherence",
                                "decided_structure", "decided_verdict"} <= cols
        return self._summarised

    def manager_keys(self) -> list[str]:
        """Every manager with a stored call or chat (read from an index)."""
        return [r[0] for r in self._conn.execute("SELECT DISTINCT manager FROM calls ORDER BY manager")]

    def latest_call(self, manager: str) -> Optional[sqlite3.Row]:
        """The level and name of the manager's newest call (None: no call)."""
        return self._conn.execute(f"SELECT level, manager_name FROM calls WHERE manager = ? {_NEWEST} LIMIT 1",
                                  (manager,)).fetchone()

    def summaries(self, call_ids: Sequence[str], *, with_stages: bool = False) -> list[CallRecord]:
        """These calls' summaries (decided calls read in full, decisions applied), oldest first."""
        out: list[CallRecord] = []
        ids = list(dict.fromkeys(call_ids))
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            marks = ", ".join("?" * len(part))
            decisions = load_decisions(self._conn, part)
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM calls WHERE call_id IN ({marks})", part).fetchall()
            stages: dict[str, list[StageResult]] = {}
            if with_stages:
                for s in self._conn.execute(f"SELECT * FROM stage_results WHERE call_id IN ({marks}) "
                                            "ORDER BY call_id, position", part):
                    stages.setdefault(s["call_id"], []).append(_stage(s))
            out += [self._summary_or_full(r, stages.get(r["call_id"], []), decisions.get(r["call_id"], []))
                    for r in rows]
        return sorted(out, key=_when)

    def _summary_or_full(self, row: sqlite3.Row, stages: list[StageResult], decisions: list[Decision]) -> CallRecord:
        if not decisions:
            return _summary(row, stages)
        full = self._conn.execute("SELECT * FROM calls WHERE call_id = ?", (row["call_id"],)).fetchone()
        return self._record(full, False, decisions)

    def readiness_calls(self, manager: str, level: str, window: int) -> list[CallRecord]:
        """What readiness judges a manager on, at ``level``: the newest ``window`` connected calls that count (no
        review flag, or the lead acted on it), with stages, oldest first. The flagged calls still waiting for the
        lead are only listed: ``awaiting_check``."""
        counted = [r[0] for r in self._conn.execute(
            f"SELECT call_id {_READY} AND (flagged = 0 OR call_id IN ({_ACTIVE})) {_NEWEST} LIMIT ?",
            (manager, level, max(window, 0)))]
        return self.summaries(counted, with_stages=True)

    def awaiting_check(self, manager: str, level: str) -> list[str]:
        """Ids of a manager's connected calls at ``level`` awaiting the lead (flagged, not acted on), oldest first:
        read from the index alone (a year holds thousands; their results are not read)."""
        return [r[0] for r in self._conn.execute(
            f"SELECT call_id {_READY} AND flagged > 0 AND call_id NOT IN ({_ACTIVE}) "
            "ORDER BY date, time, analysed_at, call_id", (manager, level))]

    def refresh_decided(self, call_ids: Iterable[str]) -> None:
        """Store these calls' decided adherence (``refresh_decided``), in the open transaction."""
        refresh_decided(self._conn, call_ids, self.script_line_ids)

    def dispute_places(self, disputed: Sequence[tuple[str, str, Optional[int]]]) -> dict[str, dict[str, Any]]:
        """For the disputed (call id, stage id, line) places: per call its manager, name, date, time, phone and file,
        the title of each disputed stage (its id when untitled) and the text of each disputed line, read from the
        columns before a call's stored result and from the stored stages and lines."""
        out: dict[str, dict[str, Any]] = {}
        ids = list(dict.fromkeys(call_id for call_id, _, _ in disputed))
        for start in range(0, len(ids), CHUNK):
            part = ids[start:start + CHUNK]
            marks = ", ".join("?" * len(part))
            for r in self._conn.execute("SELECT call_id, manager, manager_name, date, time, phone, file FROM calls "
                                        f"WHERE call_id IN ({marks})", part):
                out[r["call_id"]] = {**dict(r), "stages": {}, "lines": {}}
        for call_id, stage_id, line in disputed:
            place = out.get(call_id)
            if place is None:
                continue
            title = self._conn.execute("SELECT title FROM stage_results WHERE call_id = ? AND stage_id = ?",
                                       (call_id, stage_id)).fetchone()
            if title is not None:
                place["stages"][stage_id] = title[0] or stage_id
            if line is not None:
                text = self._conn.execute("SELECT text FROM line_results WHERE call_id = ? AND stage_id = ? AND "
                                          "position = ?", (call_id, stage_id, line)).fetchone()
                if text is not None:
                    place["lines"][(stage_id, line)] = text[0]
        return out

    def manager_totals(self) -> list[sqlite3.Row]:
        """Per manager: calls, scored calls (connected, with adherence) and the machine's adherence summed."""
        return self._conn.execute(
            "SELECT manager, COUNT(*) AS calls, SUM(connected AND adherence IS NOT NULL) AS scored, "
            "SUM(CASE WHEN connected THEN adherence END) AS adherence FROM calls GROUP BY manager").fetchall()

    def decided_totals(self) -> dict[str, sqlite3.Row]:
        """Per manager, of the calls the lead's decisions changed: how many, and how far the decisions moved
        their adherence in sum (the stored ``apply_decisions`` output less the machine's)."""
        return {r["manager"]: r for r in self._conn.execute(
            "SELECT manager, COUNT(*) AS decided, SUM(CASE WHEN connected AND decided_adherence IS NOT NULL "
            "THEN decided_adherence - COALESCE(adherence, 0) END) AS moved FROM calls WHERE decided = 1 "
            "GROUP BY manager")}

    def calls_page(self, manager: str, limit: int, offset: int = 0) -> list[CallRecord]:
        """One page of a manager's calls, newest first, in full (decisions applied, no transcripts)."""
        rows = self._conn.execute(f"SELECT call_id FROM calls WHERE manager = ? {_NEWEST} LIMIT ? OFFSET ?",
                                  (manager, limit, offset)).fetchall()
        return list(reversed(self.records([r[0] for r in rows], with_transcripts=False)))

    def count_calls(self, manager: str) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM calls WHERE manager = ?", (manager,)).fetchone()[0]

    def records(self, call_ids: Sequence[str], *, with_transcripts: bool = True) -> list[CallRecord]:
        """These calls in full, in the order given."""
        out: list[CallRecord] = []
        ids = list(call_ids)
        for start in range(0, len(ids), CHUNK):
            out += list(self._records_chunk(ids[start:start + CHUNK], with_transcripts))
        return out

    def _records_chunk(self, ids: list[str], with_transcripts: bool) -> Iterator[CallRecord]:
        marks = ", ".join("?" * len(ids))
        cols = "*" if with_transcripts else "*, NULL AS transcript_json"
        rows = {r["call_id"]: r for r in self._conn.execute(f"SELECT {cols} FROM calls WHERE call_id IN ({marks})",
                                                              ids)}
        decisions = load_decisions(self._conn, ids)
        for call_id in ids:
            if call_id in rows:
                yield self._record(rows[call_id], with_transcripts, decisions.get(call_id, []))

    def call_ids(self, since: Day = None, until: Day = None, manager: Optional[str] = None,
                 batch_id: Optional[int] = None) -> list[str]:
        """The ids of the calls ``Store.calls`` would return, in its order (a list of strings, not of calls)."""
        where: list[str] = []
        args: list[Any] = []
        for cond, value in (("c.date >= ?", since), ("c.date <= ?", until), ("c.manager = ?", manager)):
            if value:
                where.append(cond)
                args.append(str(value))
        join = ""
        if batch_id is not None:
            join = "JOIN batch_calls b ON b.call_id = c.call_id AND b.batch_id = ?"
            args.insert(0, batch_id)
        sql = (f"SELECT c.call_id FROM calls c {join} {'WHERE ' + ' AND '.join(where) if where else ''} "
               "ORDER BY c.date, c.time, c.file")
        return [r[0] for r in self._conn.execute(sql, args)]

    def stage_ids(self, since: Day = None, until: Day = None, manager: Optional[str] = None) -> list[str]:
        """Every stage id of the calls ``Store.calls`` would return, in the order they first appear there (the calls'
        order, then each call's stage order): the export's stage columns, read from ``stage_results``."""
        where = " AND ".join(cond for cond, value in (("c.date >= ?", since), ("c.date <= ?", until),
                                                      ("c.manager = ?", manager)) if value) or "1"
        args = [str(v) for v in (since, until, manager) if v]
        first = ("MIN(printf('%s' || char(1) || '%s' || char(1) || '%s' || char(1) || '%010d', COALESCE(c.date, ''), "
                 "COALESCE(c.time, ''), c.file, s.position))")
        return [r[0] for r in self._conn.execute(
            f"SELECT s.stage_id FROM stage_results s JOIN calls c ON c.call_id = s.call_id WHERE {where} "
            f"GROUP BY s.stage_id ORDER BY {first}", args)]

    def chronological_calls(self, since: Day = None, until: Day = None,
                            manager: Optional[str] = None) -> list[tuple[str, str, Optional[str], Optional[str]]]:
        """(call id, manager, date, time) of the calls ``Store.calls`` would return, in time order with the call id
        last (the report's order): what naming the report's pages needs, not the calls themselves."""
        where = " AND ".join(cond for cond, value in (("date >= ?", since), ("date <= ?", until),
                                                      ("manager = ?", manager)) if value) or "1"
        args = [str(v) for v in (since, until, manager) if v]
        return [(r[0], r[1], r[2], r[3]) for r in self._conn.execute(
            f"SELECT call_id, manager, date, time FROM calls WHERE {where} "
            "ORDER BY COALESCE(date, ''), COALESCE(time, ''), call_id", args)]

    def iter_calls(self, since: Day = None, until: Day = None, manager: Optional[str] = None,
                   *, batch_id: Optional[int] = None, with_transcripts: bool = True) -> Iterator[CallRecord]:
        """``Store.calls`` one chunk at a time: the same calls in the same order, a bounded number in memory.
        Safe to write calls while iterating (the ids are read first)."""
        ids = self.call_ids(since, until, manager, batch_id)
        for start in range(0, len(ids), CHUNK):
            yield from self._records_chunk(ids[start:start + CHUNK], with_transcripts)

    def iter_summaries(self, since: Day = None, until: Day = None,
                       manager: Optional[str] = None) -> Iterator[CallRecord]:
        """Summaries of the calls ``Store.calls`` would return, oldest first, a chunk at a time (no stages)."""
        ids = self.call_ids(since, until, manager)
        for start in range(0, len(ids), CHUNK):
            yield from self.summaries(ids[start:start + CHUNK])

    def iter_contacts(self, since: Day = None, until: Day = None,
                      manager: Optional[str] = None) -> Iterator[CallRecord]:
        """What the period export needs of the calls ``Store.calls`` would return (channel, connected, adherence,
        structure and verdict, the lead's decisions applied), oldest first, a chunk at a time, read in date order
        from one covering index (``calls_period``): no row, and none of its stored result, is read."""
        where, args = day_filter("", manager, str(since) if since else None, str(until) if until else None)
        where = where.replace("manager = ?", "+manager = ?")  # one manager's year: still from calls_period, not rows
        cursor = self._conn.execute(f"SELECT {_PERIOD_COLUMNS} FROM calls {'WHERE ' + where if where else ''} "
                                    "ORDER BY date, time, analysed_at, call_id", args)
        while rows := cursor.fetchmany(CHUNK):
            yield from (_contact(r) for r in rows)
