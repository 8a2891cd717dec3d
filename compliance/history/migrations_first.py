"""The history's first six schema versions (the call store, Pipedrive pushes, sales, review, identity), as released.
Never edit one; ``migrations`` lists them with the later ones in the order every history is upgraded in."""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Iterator, Optional


def _split_sql(script: str) -> Iterator[str]:
    for stmt in script.split(";"):
        if stmt.strip():
            yield stmt


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


# Stable identity (issue: nothing the lead decided is ever lost). A call is where it came from (``source_root``:
# the folder a batch walked; ``source_key``: the path under it, or a chat's id) with its content hash kept apart,
# so a corrected transcript updates the call in place. Decisions are keyed by the script line's stable id and
# remember the call's content they were taken on (a changed call flags them) and the line's text (shown when the
# line leaves the script); a dropped decision stays as a row. The same content under a second identity is a
# duplicate, listed with both places. The audit trail also refuses an INSERT OR REPLACE of an existing entry.
_V6_IDENTITY_TABLES = """
CREATE TABLE overrides_v6 (
    call_id TEXT NOT NULL,
    stage_id TEXT NOT NULL,
    line_id TEXT NOT NULL DEFAULT '',
    line INTEGER NOT NULL DEFAULT -1,
    line_text TEXT NOT NULL DEFAULT '',
    present INTEGER NOT NULL,
    by_login TEXT NOT NULL,
    at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    content_hash TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'dropped')),
    PRIMARY KEY (call_id, stage_id, line_id)
);
CREATE TABLE duplicates (
    source_root TEXT NOT NULL,
    source_key TEXT NOT NULL,
    file TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    call_id TEXT NOT NULL,
    manager TEXT,
    date TEXT,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    batch_id INTEGER,
    PRIMARY KEY (source_root, source_key)
);
ALTER TABLE calls ADD COLUMN source_root TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN source_key TEXT;
ALTER TABLE calls ADD COLUMN content_hash TEXT;
ALTER TABLE disputes ADD COLUMN line_id TEXT;
ALTER TABLE disputes ADD COLUMN content_hash TEXT;
ALTER TABLE audit ADD COLUMN line_id TEXT
"""

_V6_IDENTITY_TRIGGERS = (
    "CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit WHEN EXISTS (SELECT 1 FROM audit WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END",
)


def _relative_source(file: str, root: Optional[str]) -> tuple[str, str]:
    """(root, key) of a call stored before identities: its path under the folder its batch walked."""
    path, _, part = file.partition("#")
    if root and path.startswith(root.rstrip("/") + "/"):
        key = path[len(root.rstrip("/")) + 1:]
        return root, key + (f"#{part}" if part else "")
    return "", file


def _v6_line(conn: sqlite3.Connection, scripts: dict[str, Any], call_id: str, stage_id: str,
             line: int) -> tuple[str, str]:
    """(line id, text) of a line stored by position: from the script version the call was scored with, else
    from the line's text in the stored result."""
    from compliance.scoring.script import SalesScript, derived_line_id

    row = conn.execute("SELECT script_hash, result_json FROM calls WHERE call_id = ?", (call_id,)).fetchone()
    if row is None:
        return f"#{line + 1}", ""
    if row[0] not in scripts:
        raw = conn.execute("SELECT script_json FROM scripts WHERE hash = ?", (row[0],)).fetchone()
        try:
            scripts[row[0]] = SalesScript.model_validate_json(raw[0]) if raw else None
        except ValueError:
            scripts[row[0]] = None
    stage = next((s for s in scripts[row[0]].stages if s.id == stage_id), None) if scripts[row[0]] else None
    if stage is not None and 0 <= line < len(stage.lines):
        return stage.line_ids()[line], stage.line_text(line)
    result = json.loads(row[1])
    lines: list[dict[str, Any]] = next((s.get("lines", []) for s in result.get("stages", []) if s.get("id") == stage_id), [])
    if 0 <= line < len(lines):
        return derived_line_id(lines[line]["text"]), lines[line]["text"]
    return f"#{line + 1}", ""


def _V6_IDENTITY(conn: sqlite3.Connection) -> None:
    for stmt in _split_sql(_V6_IDENTITY_TABLES):
        conn.execute(stmt)
    for trigger in _V6_IDENTITY_TRIGGERS:
        conn.execute(trigger)
    roots = {r[0]: r[1] for r in conn.execute("SELECT id, folder FROM batches")}
    for call_id, file, batch_id in conn.execute("SELECT call_id, file, batch_id FROM calls").fetchall():
        root, key = _relative_source(file, roots.get(batch_id))
        conn.execute("UPDATE calls SET source_root = ?, source_key = ?, content_hash = call_id WHERE call_id = ?",
                     (root, key, call_id))
    conn.execute("CREATE UNIQUE INDEX calls_source ON calls(source_root, source_key)")
    conn.execute("CREATE INDEX calls_content ON calls(content_hash)")
    scripts: dict[str, Any] = {}
    for r in conn.execute("SELECT rowid, * FROM overrides ORDER BY rowid").fetchall():
        line_id, text = ("", "") if r["line"] == -1 else _v6_line(conn, scripts, r["call_id"], r["stage_id"],
                                                                 r["line"])
        conn.execute("INSERT INTO overrides_v6 (call_id, stage_id, line_id, line, line_text, present, by_login, at, "
                     "note, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (r["call_id"], r["stage_id"], line_id, r["line"], text, r["present"], r["by_login"], r["at"],
                      r["note"], r["call_id"]))
    conn.execute("DROP TABLE overrides")
    conn.execute("ALTER TABLE overrides_v6 RENAME TO overrides")
    for r in conn.execute("SELECT id, call_id, stage_id, line FROM disputes").fetchall():
        line_id = "" if r["line"] == -1 else _v6_line(conn, scripts, r["call_id"], r["stage_id"], r["line"])[0]
        conn.execute("UPDATE disputes SET line_id = ?, content_hash = call_id WHERE id = ?", (line_id, r["id"]))
