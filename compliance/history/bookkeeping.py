"""The history's bookkeeping: batches, the files they could not analyse, and the sales a manager reports."""
from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from typing import TYPE_CHECKING, Any, Optional

from .schema import BatchInfo, DaySales, Failure

if TYPE_CHECKING:
    from .store import _Transaction


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


def _alive(pid: Optional[int]) -> bool:
    """Whether a process of this machine still runs (a batch row's owner)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Bookkeeping:
    """Batches, failures and sales; mixed into ``Store`` (which opens ``_conn``)."""

    _conn: sqlite3.Connection

    def _tx(self) -> "_Transaction":
        raise NotImplementedError

    def has_table(self, name: str) -> bool:
        raise NotImplementedError

    # -- batches -----------------------------------------------------------------------------------
    def begin_batch(self, folder: str, options: dict[str, Any] | None = None) -> int:
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO batches (started_at, folder, status, pid, options_json) VALUES (?, ?, 'running', ?, ?)",
                (_now(), folder, os.getpid(), json.dumps(options or {}, ensure_ascii=False, default=str)),
            )
            assert cur.lastrowid is not None
            return int(cur.lastrowid)

    def finish_batch(self, batch_id: int, summary: dict[str, Any], status: str = "done") -> None:
        with self._tx() as conn:
            conn.execute("UPDATE batches SET finished_at = ?, status = ?, summary_json = ? WHERE id = ?",
                         (_now(), status, json.dumps(summary, ensure_ascii=False, default=str), batch_id))

    def last_batch(self, finished: bool = False) -> Optional[BatchInfo]:
        """The latest batch (only a finished one when ``finished``)."""
        where = "WHERE status = 'done'" if finished else ""
        row = self._conn.execute(f"SELECT * FROM batches {where} ORDER BY id DESC LIMIT 1").fetchone()
        if row is None:
            return None
        status = row["status"]
        if status == "running" and not _alive(row["pid"]):
            status = "interrupted"  # its process is gone: killed, or the machine went down
        return BatchInfo(id=row["id"], started_at=row["started_at"], finished_at=row["finished_at"],
                         folder=row["folder"], status=status,
                         summary=json.loads(row["summary_json"]) if row["summary_json"] else {})

    def note_outcome(self, batch_id: int, call_id: str, outcome: str) -> None:
        """Record that a batch saw a call (``skipped`` here; analysed calls are noted by save_call)."""
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO batch_calls (batch_id, call_id, outcome) VALUES (?, ?, ?)",
                         (batch_id, call_id, outcome))

    def save_sales(self, sales: DaySales) -> None:
        """Keep the sales a manager reported for a day (replacing an earlier entry of that day)."""
        with self._tx() as conn:
            conn.execute("INSERT OR REPLACE INTO daily_sales (manager, date, sales_count, sales_sum, updated_at) "
                         "VALUES (?, ?, ?, ?, ?)", (sales.manager, sales.date, sales.sales_count, sales.sales_sum,
                                                    _now()))

    def sales(self, since: str | None = None, until: str | None = None,
              manager: str | None = None) -> list[DaySales]:
        """Reported sales per manager per day (none in a history from before they were kept)."""
        if not self.has_table("daily_sales"):
            return []
        rows = self._conn.execute("SELECT * FROM daily_sales WHERE date >= ? AND date <= ? AND (? IS NULL OR manager = ?) "
                                  "ORDER BY date, manager", (since or "", until or "9999", manager, manager)).fetchall()
        return [DaySales(manager=r["manager"], date=r["date"], sales_count=r["sales_count"],
                         sales_sum=r["sales_sum"]) for r in rows]

    # -- failures ----------------------------------------------------------------------------------
    def save_failure(self, failure: Failure) -> None:
        with self._tx() as conn:
            conn.execute("INSERT INTO failures (batch_id, file, content_hash, kind, reason, at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (failure.batch_id, failure.file, failure.content_hash, failure.kind, failure.reason,
                          failure.at or _now()))

    def resolve_failures_under(self, folder: str, batch_id: int) -> None:
        """A batch over ``folder`` settles older failures there that it did not meet again."""
        prefix = folder.rstrip("/") + "/"
        with self._tx() as conn:
            conn.execute(
                "UPDATE failures SET resolved = 1 WHERE resolved = 0 AND batch_id IS NOT ? "
                "AND (file = ? OR substr(file, 1, ?) = ?) "
                "AND file NOT IN (SELECT file FROM failures WHERE batch_id = ?)",
                (batch_id, folder, len(prefix), prefix, batch_id))

    def failures(self, batch_id: int | None = None) -> list[Failure]:
        """The failures of one batch, or (None) the latest unresolved failure of every file."""
        if batch_id is not None:
            rows = self._conn.execute("SELECT * FROM failures WHERE batch_id = ? ORDER BY id", (batch_id,))
        else:
            rows = self._conn.execute(
                "SELECT * FROM failures WHERE id IN (SELECT MAX(id) FROM failures GROUP BY file) "
                "AND resolved = 0 ORDER BY file")
        return [Failure(file=r["file"], reason=r["reason"], kind=r["kind"], batch_id=r["batch_id"],
                        content_hash=r["content_hash"], at=r["at"], resolved=bool(r["resolved"])) for r in rows]
