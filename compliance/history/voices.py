"""Enrolled voices: each manager's voice print (``compliance team enroll``), kept in the history."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import Optional, Sequence

from pydantic import BaseModel

from compliance.history.store import Store


class Voice(BaseModel):
    """A manager's voice print and what it was made from."""

    manager: str
    vector: list[float]
    calls: int
    files: list[str]
    at: str


def save_voice(store: Store, manager: str, vector: Sequence[float], files: Sequence[str]) -> Voice:
    """Store (or replace) a manager's voice print."""
    voice = Voice(manager=manager, vector=list(vector), calls=len(files), files=list(files),
                  at=dt.datetime.now().isoformat(timespec="seconds"))
    with store.transaction() as conn:
        conn.execute("INSERT INTO voices (manager, print_json, calls, files_json, at) VALUES (?, ?, ?, ?, ?) "
                     "ON CONFLICT (manager) DO UPDATE SET print_json = excluded.print_json, calls = excluded.calls, "
                     "files_json = excluded.files_json, at = excluded.at",
                     (manager, json.dumps(voice.vector), voice.calls, json.dumps(voice.files, ensure_ascii=False),
                      voice.at))
    return voice


def voice_of(store: Store, manager: str) -> Optional[Voice]:
    """A manager's enrolled voice, or None (none enrolled, or a history from before voices)."""
    try:
        row = store.connection.execute("SELECT * FROM voices WHERE manager = ?", (manager,)).fetchone()
    except sqlite3.OperationalError:
        return None
    if row is None:
        return None
    return Voice(manager=row["manager"], vector=json.loads(row["print_json"]), calls=row["calls"],
                 files=json.loads(row["files_json"]), at=row["at"])


def voice_vector(store: Store, manager: str) -> list[float]:
    """A manager's voice print as the recogniser takes it (empty: none enrolled)."""
    voice = voice_of(store, manager) if manager else None
    return voice.vector if voice is not None else []
