"""The history database's tables, one migration per schema version, and the rows the store returns."""
from __future__ import annotations

import sqlite3
from typing import Any, Callable, Iterator, Optional, Union

from pydantic import BaseModel, Field

# Each migration moves the schema from version i to i + 1; never edit a released one, append.
_V1 = """
CREATE TABLE batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    folder TEXT,
    status TEXT NOT NULL DEFAULT 'running',
    pid INTEGER,
    options_json TEXT,
    summary_json TEXT
);
CREATE TABLE managers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    level TEXT NOT NULL DEFAULT 'newcomer',
    since TEXT,
    known INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT
);
CREATE TABLE scripts (
    hash TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    script_json TEXT NOT NULL,
    first_seen TEXT NOT NULL
);
CREATE TABLE calls (
    call_id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    kind TEXT NOT NULL,
    audio TEXT,
    manager TEXT NOT NULL,
    manager_name TEXT NOT NULL DEFAULT '',
    unknown_manager INTEGER NOT NULL DEFAULT 0,
    date TEXT,
    time TEXT,
    phone TEXT,
    level TEXT NOT NULL,
    attribution_json TEXT,
    script_id TEXT NOT NULL,
    script_hash TEXT NOT NULL,
    script_choice TEXT NOT NULL,
    score_key TEXT NOT NULL,
    model TEXT,
    transcribe_key TEXT,
    connected INTEGER NOT NULL,
    not_connected_reason TEXT,
    adherence REAL,
    coverage REAL,
    verdict TEXT,
    band_min REAL,
    band_max REAL,
    order_ok INTEGER,
    duration REAL,
    talk_manager_share REAL,
    talk_client_share REAL,
    talk_longest_monologue REAL,
    talk_interruptions INTEGER,
    talk_silence REAL,
    result_json TEXT NOT NULL,
    transcript_json TEXT,
    batch_id INTEGER REFERENCES batches(id),
    analysed_at TEXT NOT NULL
);
CREATE INDEX calls_manager_date ON calls(manager, date, time);
CREATE INDEX calls_date ON calls(date, time);
CREATE TABLE stage_results (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    stage_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    title TEXT,
    required INTEGER NOT NULL,
    applies INTEGER NOT NULL,
    present INTEGER NOT NULL,
    score REAL NOT NULL,
    start REAL,
    PRIMARY KEY (call_id, stage_id)
);
CREATE TABLE line_results (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    stage_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    similarity REAL NOT NULL,
    matched TEXT,
    start REAL,
    PRIMARY KEY (call_id, stage_id, position)
);
CREATE TABLE forbidden_hits (
    call_id TEXT NOT NULL REFERENCES calls(call_id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    phrase TEXT NOT NULL,
    matched TEXT,
    start REAL,
    PRIMARY KEY (call_id, position)
);
CREATE TABLE failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    batch_id INTEGER REFERENCES batches(id),
    file TEXT NOT NULL,
    content_hash TEXT,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX failures_file ON failures(file);
CREATE TABLE batch_calls (
    batch_id INTEGER NOT NULL REFERENCES batches(id),
    call_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (batch_id, call_id)
);
"""


# Sentence embeddings of stored transcripts (half precision), so that re-scoring after a script edit embeds
# only the script's lines. Keyed by the model and a hash of the sentence text.
_V2 = """
CREATE TABLE embeddings (
    model TEXT NOT NULL,
    key TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, key)
);
"""


# What was written to a CRM for each call (compliance pipedrive push): the note and call log made there and a
# hash of the note's content, so a second push sends nothing and a re-scored call updates its note. No foreign
# key to calls: re-scoring replaces a call's row, and the note ids must outlive that.
_V3_PIPEDRIVE = """
CREATE TABLE crm_pushes (
    call_id TEXT NOT NULL,
    account TEXT NOT NULL,
    note_id INTEGER,
    deal_id INTEGER,
    person_id INTEGER,
    call_log_id TEXT,
    call_log_created INTEGER NOT NULL DEFAULT 0,
    recording INTEGER NOT NULL DEFAULT 0,
    content_hash TEXT NOT NULL,
    pushed_at TEXT NOT NULL,
    PRIMARY KEY (call_id, account)
);
"""


# The sales a manager reports for a day (`compliance daily --sales-sum/--sales-count`): the week/month export
# puts them beside the calls and chats. One row per manager and day; a new entry replaces the old one.
_V4_SALES = """
CREATE TABLE daily_sales (
    manager TEXT NOT NULL,
    date TEXT NOT NULL,
    sales_count INTEGER NOT NULL DEFAULT 0,
    sales_sum REAL NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (manager, date)
);
"""


# The lead's review (compliance.review): accounts, decisions kept apart from the machine's result (so a re-score
# never loses them: no foreign key, a call replaced by a re-score keeps its id), disputes, an append-only audit
# trail (triggers refuse UPDATE and DELETE), and settings such as the web app's session secret.
_V5_REVIEW_TABLES = """
CREATE TABLE users (
    login TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('lead', 'manager')),
    manager TEXT,
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE overrides (
    call_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    line INTEGER NOT NULL DEFAULT -1,
    present INTEGER NOT NULL,
    by_login TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (call_id, stage_id, line)
);
CREATE TABLE disputes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    line INTEGER NOT NULL DEFAULT -1,
    manager TEXT NOT NULL,
    by_login TEXT NOT NULL,
    comment TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'rejected')),
    at TEXT NOT NULL,
    resolved_by TEXT,
    resolved_at TEXT,
    resolution TEXT
);
CREATE INDEX disputes_status ON disputes(status, at);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    call_id TEXT,
    stage_id TEXT,
    line INTEGER,
    before_json TEXT,
    after_json TEXT,
    note TEXT NOT NULL DEFAULT ''
);
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"""

_V5_REVIEW_TRIGGERS = (
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
)


def _V5_REVIEW(conn: sqlite3.Connection) -> None:
    for stmt in _split_sql(_V5_REVIEW_TABLES):
        conn.execute(stmt)
    for trigger in _V5_REVIEW_TRIGGERS:  # a trigger's body holds ';': not split
        conn.execute(trigger)


# Server-side sessions of the web app (compliance.review.sessions), so logout, a password reset and removing an
# account end them: the cookie carries a random id, the table only its SHA-256. The cookie's signing key leaves
# the database (a 0600 file beside it, or an environment variable): whoever has a copy of the database could sign
# a lead's cookie with it, so the stored one is deleted, and every old cookie stops working.
_V7_SESSIONS = """
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX sessions_login ON sessions(login);
DELETE FROM settings WHERE key = 'session_secret'
"""


Migration = Union[str, Callable[[sqlite3.Connection], None]]


MIGRATIONS: list[Migration] = [_V1, _V2, _V3_PIPEDRIVE, _V4_SALES, _V5_REVIEW, _V7_SESSIONS]


class CallMeta(BaseModel):
    """What the store keeps about a call beyond its ``CallRecord``."""

    kind: str                                  # "audio" | "transcript" | "chat"
    phone: Optional[str] = None
    unknown_manager: bool = False
    script_choice: str = "default"             # manifest | roster | option | auto | default
    score_key: str                             # what the score depends on: script, level, manager, date
    transcribe_key: Optional[str] = None       # the transcription options (audio) or "text"
    attribution: dict[str, Any] = Field(default_factory=dict)


class CallState(BaseModel):
    """Enough of a stored call to decide whether a batch may skip it."""

    call_id: str
    file: str
    score_key: str
    transcribe_key: Optional[str] = None
    has_transcript: bool = False


class Failure(BaseModel):
    """A file a batch could not analyse, and why."""

    file: str
    reason: str
    kind: str                                  # unreadable | unattributed | transcript | audio | score | folder | manifest
    batch_id: Optional[int] = None
    content_hash: Optional[str] = None
    at: Optional[str] = None
    resolved: bool = False


class BatchInfo(BaseModel):
    id: int
    started_at: str
    finished_at: Optional[str] = None
    folder: Optional[str] = None
    status: str                                # running | done | interrupted
    summary: dict[str, Any] = Field(default_factory=dict)


class ManagerRow(BaseModel):
    id: str
    name: str = ""
    level: str = "newcomer"
    since: Optional[str] = None
    known: bool = True


class DayCount(BaseModel):
    """Calls and chats of one manager on one day: each a contact when it connected (a chat: the client replied)."""

    manager: str
    date: str
    calls: int
    connected: int
    chats: int = 0
    chats_replied: int = 0

    @property
    def contacts(self) -> int:
        """What the daily KPI counts: connected calls and chats the client replied in."""
        return self.connected + self.chats_replied


class DaySales(BaseModel):
    """The sales a manager reported for one day."""

    manager: str
    date: str
    sales_count: int = 0
    sales_sum: float = 0.0


def _split_sql(script: str) -> Iterator[str]:
    for stmt in script.split(";"):
        if stmt.strip():
            yield stmt
