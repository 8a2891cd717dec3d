"""The history's schema, one migration per version: each moves version i to i + 1. Never edit a released one;
append (in this module while it has room, else in a new one beside ``migrations_first``). ``schema`` re-exports
``MIGRATIONS``; the store runs them (``Store._migrate``)."""
from __future__ import annotations

import sqlite3
from typing import Callable, Union

from .migrations_first import _V1, _V2, _V3_PIPEDRIVE, _V4_SALES, _V5_REVIEW, _V6_IDENTITY, _split_sql

# Deal outcomes from the CRM (`compliance pipedrive sync`): one row per deal and account, refreshed in place. Calls
# reach their deal through crm_pushes; a deal deleted in the CRM keeps its row with status 'deleted'. crm_actions:
# what `pipedrive check --apply` changed in the CRM for a call, so a second run never does it again.
_V10_OUTCOMES = """
CREATE TABLE crm_deals (
    account TEXT NOT NULL,
    deal_id INTEGER NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    value REAL NOT NULL DEFAULT 0,
    currency TEXT NOT NULL DEFAULT '',
    won_time TEXT,
    lost_time TEXT,
    lost_reason TEXT,
    update_time TEXT,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (account, deal_id)
);
CREATE INDEX crm_deals_won ON crm_deals(status, won_time);
CREATE TABLE crm_actions (
    account TEXT NOT NULL,
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    deal_id INTEGER NOT NULL,
    created_id INTEGER,
    at TEXT NOT NULL,
    PRIMARY KEY (account, call_id, kind)
);
"""

Migration = Union[str, Callable[[sqlite3.Connection], None]]


# Calls the cloud PBX reported (`compliance fetch`): the PBX's own call id is the call's source identity, kept
# apart from the recording's content hash (``content_hash`` = ``calls.content_hash`` once the recording is scored).
# Unanswered calls live only here: they are dials, counted in the daily report, never scored.
_V9_PBX = """
CREATE TABLE pbx_calls (
    provider TEXT NOT NULL,
    pbx_call_id TEXT NOT NULL,
    manager TEXT,
    extension TEXT,
    direction TEXT NOT NULL,
    date TEXT NOT NULL,
    started_at TEXT NOT NULL,
    talk_seconds INTEGER NOT NULL DEFAULT 0,
    disposition TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    file TEXT,
    content_hash TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    call_json TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (provider, pbx_call_id)
);
CREATE INDEX pbx_calls_day ON pbx_calls (manager, date);
CREATE INDEX pbx_calls_status ON pbx_calls (provider, status);
"""


# Enrolled voices (``compliance team enroll``): a manager's voice print, what a one-channel call's parties are
# compared with to find the manager.
_V8_VOICES = """
CREATE TABLE IF NOT EXISTS voices (
    manager TEXT PRIMARY KEY,
    print_json TEXT NOT NULL,
    calls INTEGER NOT NULL,
    files_json TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


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


# A year of a team's history (~100,000 calls): every query a save, a page or a report runs is an index probe or an
# index range, never a scan (tests/test_history_scale.py checks the plans). What readiness, the pages and the export
# read of a call beyond its columns (its review flags, recognition rating, structure) becomes columns too, filled
# from the stored results here and by ``Store.save_call`` after; ``calls_summary`` covers the pages' aggregates
# and a manager's newest calls, so they are read from the index alone.
_V11_SCALE_COLUMNS = {"flagged": "INTEGER NOT NULL DEFAULT 0", "quality": "TEXT", "structure": "REAL"}
_V11_SCALE_INDEXES = """
DROP INDEX IF EXISTS calls_manager_date;
CREATE INDEX IF NOT EXISTS calls_summary ON calls(manager, date, time, analysed_at, call_id, level, connected, kind,
    flagged, adherence, verdict, structure);
CREATE INDEX IF NOT EXISTS calls_file ON calls(file);
CREATE INDEX IF NOT EXISTS failures_content ON failures(content_hash);
CREATE INDEX IF NOT EXISTS disputes_call ON disputes(call_id);
CREATE INDEX IF NOT EXISTS disputes_manager ON disputes(manager, status);
CREATE INDEX IF NOT EXISTS audit_call ON audit(call_id);
CREATE INDEX IF NOT EXISTS batch_calls_call ON batch_calls(call_id);
CREATE INDEX IF NOT EXISTS overrides_active ON overrides(status, call_id)
"""


def _V11_SCALE(conn: sqlite3.Connection) -> None:
    have = {r[1] for r in conn.execute("PRAGMA table_info(calls)")}
    for column, kind in _V11_SCALE_COLUMNS.items():
        if column not in have:  # a history rebuilt from an older one may have kept them
            conn.execute(f"ALTER TABLE calls ADD COLUMN {column} {kind}")
    conn.execute("UPDATE calls SET flagged = COALESCE(json_array_length(result_json, '$.flags'), 0), "
                 "quality = json_extract(result_json, '$.quality.rating'), "
                 "structure = json_extract(result_json, '$.structure')")
    for stmt in _split_sql(_V11_SCALE_INDEXES):
        conn.execute(stmt)

def _V12_DECIDED(conn: sqlite3.Connection) -> None:
    """The decided (corrected) adherence beside the machine's, filled for the decided calls."""
    from .summaries import add_decided_columns

    add_decided_columns(conn)


# scale7: the calls awaiting the lead (flagged, connected) from a small index of their own; the period export's
# columns in date order from one covering index (those after a row's stored result would read all its pages).
_SCALE7_AWAITING = """
CREATE INDEX IF NOT EXISTS calls_awaiting ON calls(manager, level, date, time, analysed_at, call_id, connected, flagged)
    WHERE connected = 1 AND flagged > 0;
CREATE INDEX IF NOT EXISTS calls_period ON calls(date, time, analysed_at, call_id, manager, manager_name, level, kind,
    script_id, connected, adherence, structure, verdict, decided, decided_adherence, decided_structure, decided_verdict, file)
"""

# Versions 6 (identity), 7 (sessions), 8 (voices), 9 (PBX) and 10 (outcomes) came from work done side by side;
# their order here is the order every history is upgraded in.
MIGRATIONS: list[Migration] = [_V1, _V2, _V3_PIPEDRIVE, _V4_SALES, _V5_REVIEW, _V6_IDENTITY, _V7_SESSIONS, _V8_VOICES,
                               _V9_PBX, _V10_OUTCOMES, _V11_SCALE, _V12_DECIDED, _SCALE7_AWAITING]
