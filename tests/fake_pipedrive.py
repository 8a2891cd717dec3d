"""A fake Pipedrive API v1 on 127.0.0.1: a real HTTP server in a thread, state in memory.

It follows the documented shapes: every answer is ``{"success": …, "data": …}``, lists carry
``additional_data.pagination`` (``start``, ``limit``, ``more_items_in_collection``, ``next_start``), errors carry
``error``/``error_info``. The token is checked in the ``x-api-token`` header. Switches inject what a real service
does now and then: 429 with ``retry-after``, 5xx, 401, and small pages (``page_size``) to force pagination; and
``faults`` what a broken network or a hostile server does (see ``FAULTS``).
"""
from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import itertools
import json
import re
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

OUTCOMES = {"connected", "no_answer", "left_message", "left_voicemail", "wrong_number", "busy"}
TIME = "%Y-%m-%d %H:%M:%S"
# What ``FakeState.faults`` can inject, each for one request: ``lost`` does the work then closes the connection
# without answering (a lost response); ``reset`` does the work then resets the connection; ``reset_before`` resets
# without doing it; ``html`` answers 200 with a web page; ``redirect`` answers 302 to another host; ``null_data``
# does the work and answers ``data: null``; ``trickle`` does the work and sends its answer a byte at a time for
# ever (``trickle_head``: its headers, never ending them); ``huge`` answers 200 with ``huge_bytes`` of JSON, streamed.
FAULTS = {"lost", "reset", "reset_before", "html", "redirect", "null_data", "trickle", "trickle_head", "huge"}


class FakeState:
    """What the fake company holds, and the switches a test flips."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.users: list[dict] = []
        self.persons: list[dict] = []
        self.deals: list[dict] = []
        self.activities: list[dict] = []
        self.notes: dict[int, dict] = {}
        self.call_logs: dict[str, dict] = {}
        self.recordings: dict[str, bytes] = {}
        self.page_size = 100                       # the most items one page holds (a real limit is 100–500)
        self.fail_next: list[int] = []             # statuses to answer the next requests with, in order
        self.retry_after = "1"
        self.requests: list[tuple[str, str]] = []  # (method, path with query) of every request
        self.faults: list[tuple[str, str]] = []    # ("POST /v1/notes", "lost"): the next matching request faults
        self.pages = "normal"                      # "endless": always more items; "repeat": next_start never moves
        self.huge_bytes = 50_000_000
        self.sent_bytes = 0                        # what a huge or trickling answer got out before the client left
        self._ids = itertools.count(1000)
        self.lock = threading.Lock()

    def next_id(self) -> int:
        return next(self._ids)

    def count(self, method: str, prefix: str) -> int:
        return sum(1 for m, p in self.requests if m == method and p.startswith(prefix))


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    # -- plumbing ----------------------------------------------------------------------------------
    def _serve(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        with state.lock:
            state.requests.append((method, self.path))
            if state.fail_next:
                return self._failure(state.fail_next.pop(0))
            fault = _take_fault(state, method, self.path)
            if fault == "reset_before":
                return self._reset()
            if self.headers.get("x-api-token") != state.token:
                return self._send(401, {"success": False, "error": "unauthorized access", "errorCode": 401,
                                        "error_info": "Please check developers.pipedrive.com"})
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            try:
                status, body = _route(state, method, url.path, query, raw, self.headers.get("content-type", ""))
            except _Fail as fail:
                status, body = fail.status, {"success": False, "error": fail.message, "errorCode": fail.status}
        if fault and status < 400:
            return self._fault(fault, status, body)
        self._send(status, body)

    def _fault(self, fault: str, status: int, body: dict) -> None:
        if fault == "lost":
            self.close_connection = True
            return
        if fault == "reset":
            return self._reset()
        if fault == "html":
            return self._raw(200, b"<html><body>Sign in</body></html>", "text/html")
        if fault == "redirect":
            return self._raw(302, b"", "text/html", {"location": "https://login.example.com/?next=/v1"})
        if fault == "null_data":
            return self._send(status, {"success": True, "data": None})
        if fault == "trickle":
            return self._stream(iter(lambda: (time.sleep(0.05), b" ")[1], None), None)
        if fault == "trickle_head":   # the status line and headers themselves, a byte at a time
            self.close_connection = True
            try:
                head = b"HTTP/1.1 200 OK\r\nx-a: "
                for n in itertools.count():
                    time.sleep(0.05)
                    self.connection.sendall(head[n:n + 1] or b"a")      # a header that never ends
                    self.server.state.sent_bytes += 1
            except OSError:
                pass
            return
        if fault == "huge":
            return self._stream(_huge(self.server.state.huge_bytes), None)   # no length: read until it ends

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _raw(self, status: int, payload: bytes, ctype: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)

    def _stream(self, chunks: Any, length: Optional[int]) -> None:
        self.send_response(200)
        self.send_header("content-type", "application/json")
        if length is not None:
            self.send_header("content-length", str(length))
        self.end_headers()
        self.close_connection = True
        try:
            for chunk in chunks:
                self.wfile.write(chunk)
                self.wfile.flush()
                self.server.state.sent_bytes += len(chunk)
        except OSError:
            pass  # the client hung up: what a bounded client does

    def _failure(self, status: int) -> None:
        state = self.server.state
        headers = {}
        if status == 429:
            headers = {"retry-after": state.retry_after, "x-ratelimit-limit": "80", "x-ratelimit-remaining": "0",
                       "x-ratelimit-reset": state.retry_after}
        error = {401: "unauthorized access", 403: "You do not have permission", 429: "Request over limit"}.get(
            status, "Internal server error")
        self._send(status, {"success": False, "error": error, "errorCode": status}, headers)

    def _send(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        self.send_header("content-length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)


class _Fail(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status, self.message = status, message


def _take_fault(state: FakeState, method: str, path: str) -> Optional[str]:
    for i, (prefix, fault) in enumerate(state.faults):
        if f"{method} {path}".startswith(prefix):
            del state.faults[i]
            return fault
    return None


def _huge(size: int) -> Any:
    yield b'{"success": true, "data": ['
    sent = 27
    item = b'{"id": 1, "name": "' + b"x" * 1000 + b'"},'
    while sent + len(item) < size:
        yield item * 64
        sent += len(item) * 64


def _page(state: FakeState, items: list, query: dict, wrap: Optional[str] = None) -> tuple[int, dict]:
    start = int(query.get("start", 0))
    limit = min(int(query.get("limit", 100)), state.page_size)
    chunk = items[start:start + limit]
    more = start + limit < len(items)
    if state.pages != "normal":
        chunk = chunk or items[-limit:]
        more = True
    pagination = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start if state.pages == "repeat" else start + limit
    data: Any = {wrap: chunk} if wrap else chunk
    return 200, {"success": True, "data": data, "additional_data": {"pagination": pagination}}


def _json(raw: bytes) -> dict:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise _Fail(400, "Invalid JSON") from None
    if not isinstance(body, dict):
        raise _Fail(400, "Invalid JSON")
    return body


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def _route(state: FakeState, method: str, path: str, query: dict, raw: bytes, ctype: str) -> tuple[int, dict]:
    if method == "GET" and path == "/v1/users":
        return _page(state, state.users, query)
    if method == "GET" and path == "/v1/callLogs":
        return _page(state, list(state.call_logs.values()), query)
    if method == "POST" and path == "/v1/callLogs":
        return _add_call_log(state, _json(raw))
    if m := re.fullmatch(r"/v1/callLogs/([^/]+)/recordings", path):
        return _add_recording(state, m.group(1), raw, ctype)
    if method == "GET" and path == "/v1/persons/search":
        return _search_persons(state, query)
    if method == "GET" and (m := re.fullmatch(r"/v1/persons/(\d+)/deals", path)):
        person = int(m.group(1))
        deals = [d for d in state.deals if d["person_id"] == person
                 and query.get("status", "all_not_deleted") in (d["status"], "all_not_deleted")]
        return _page(state, deals, query)
    if method == "GET" and (m := re.fullmatch(r"/v1/deals/(\d+)", path)):
        deal = next((d for d in state.deals if d["id"] == int(m.group(1))), None)
        if deal is None:
            raise _Fail(404, "Deal not found")
        return 200, {"success": True, "data": deal}
    if method == "GET" and (m := re.fullmatch(r"/v1/deals/(\d+)/activities", path)):
        acts = [a for a in state.activities if a["deal_id"] == int(m.group(1))
                and ("done" not in query or int(a.get("done", 0)) == int(query["done"]))]
        return _page(state, acts, query)
    if method == "POST" and path == "/v1/activities":
        body = _json(raw)
        for field in ("subject", "type"):
            if not body.get(field):
                raise _Fail(400, f"{field} is required")
        activity = {"id": state.next_id(), "done": 0, **body}
        state.activities.append(activity)
        return 201, {"success": True, "data": activity}
    if method == "PUT" and (m := re.fullmatch(r"/v1/deals/(\d+)", path)):
        deal = next((d for d in state.deals if d["id"] == int(m.group(1))), None)
        if deal is None:
            raise _Fail(404, "Deal not found")
        body = _json(raw)
        if body.get("status") not in (None, "open", "won", "lost", "deleted"):
            raise _Fail(400, "bad status")
        deal.update(body)
        return 200, {"success": True, "data": deal}
    if method == "GET" and path == "/v1/recents":
        # Documented shape: items changed since since_timestamp (UTC), each {"item": "deal", "id", "data": {…}}.
        if not query.get("since_timestamp"):
            raise _Fail(400, "since_timestamp is required")
        changed = [{"item": "deal", "id": d["id"], "data": d} for d in state.deals
                   if query.get("items", "deal") == "deal" and d.get("update_time", "") >= query["since_timestamp"]]
        return _page(state, changed, query)
    if method == "POST" and path == "/v1/notes":
        return _add_note(state, _json(raw))
    if method == "GET" and path == "/v1/notes":
        notes = [n for n in state.notes.values()
                 if all(str(n.get(k)) == query[k] for k in ("deal_id", "person_id") if k in query)]
        return _page(state, notes, query)
    if method == "PUT" and (m := re.fullmatch(r"/v1/notes/(\d+)", path)):
        note = state.notes.get(int(m.group(1)))
        if note is None:
            raise _Fail(404, "Note not found")
        body = _json(raw)
        if "content" in body:
            if not str(body["content"]).strip():
                raise _Fail(400, "Note content is empty")
            note["content"] = body["content"]
        note["update_time"] = dt.datetime.utcnow().strftime(TIME)
        return 200, {"success": True, "data": note}
    raise _Fail(404, f"Unknown method {method} {path}")


def _add_note(state: FakeState, body: dict) -> tuple[int, dict]:
    if not str(body.get("content") or "").strip():
        raise _Fail(400, "Note content is required")
    if not any(body.get(k) for k in ("deal_id", "person_id", "org_id", "lead_id")):
        raise _Fail(400, "Note must be attached to a deal, person, organization or lead")
    if body.get("deal_id") and not any(d["id"] == body["deal_id"] for d in state.deals):
        raise _Fail(400, "Deal not found")
    if body.get("person_id") and not any(p["id"] == body["person_id"] for p in state.persons):
        raise _Fail(400, "Person not found")
    if body.get("user_id") and not any(u["id"] == body["user_id"] for u in state.users):
        raise _Fail(400, "User not found")
    now = dt.datetime.utcnow().strftime(TIME)
    note = {"id": state.next_id(), "content": body["content"], "deal_id": body.get("deal_id"),
            "person_id": body.get("person_id"), "org_id": None, "lead_id": None,
            "user_id": body.get("user_id") or state.users[0]["id"], "add_time": now, "update_time": now,
            "active_flag": True}
    state.notes[note["id"]] = note
    return 200, {"success": True, "data": note}


def _add_call_log(state: FakeState, body: dict) -> tuple[int, dict]:
    for field in ("outcome", "to_phone_number", "start_time", "end_time"):
        if not body.get(field):
            raise _Fail(400, f"{field} is required")
    if body["outcome"] not in OUTCOMES:
        raise _Fail(400, f"outcome must be one of {sorted(OUTCOMES)}")
    for field in ("start_time", "end_time"):
        try:
            dt.datetime.strptime(body[field], TIME)
        except (TypeError, ValueError):
            raise _Fail(400, f"{field} must be YYYY-MM-DD HH:MM:SS (UTC)") from None
    log_id = f"{state.next_id():032x}"
    log = {"id": log_id, "activity_id": None, "person_id": body.get("person_id"), "org_id": None,
           "deal_id": body.get("deal_id"), "subject": body.get("subject"), "duration": body.get("duration"),
           "outcome": body["outcome"], "from_phone_number": body.get("from_phone_number"),
           "to_phone_number": body["to_phone_number"], "has_recording": False, "start_time": body["start_time"],
           "end_time": body["end_time"], "user_id": body.get("user_id") or state.users[0]["id"],
           "company_id": 1, "note": body.get("note")}
    state.call_logs[log_id] = log
    return 200, {"success": True, "data": log}


def _add_recording(state: FakeState, log_id: str, raw: bytes, ctype: str) -> tuple[int, dict]:
    log = state.call_logs.get(log_id)
    if log is None:
        raise _Fail(404, "Call log not found")
    if log["has_recording"]:
        raise _Fail(409, "A recording already exists for this call log")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"content-type: " + ctype.encode("latin-1") + b"\r\n\r\n" + raw)
    parts = [p for p in message.iter_parts() if p.get_param("name", header="content-disposition") == "file"]
    if not parts or not parts[0].get_filename() or not parts[0].get_payload(decode=True):
        raise _Fail(400, "file is required (multipart/form-data)")
    state.recordings[log_id] = parts[0].get_payload(decode=True)
    log["has_recording"] = True
    return 200, {"success": True}


def _search_persons(state: FakeState, query: dict) -> tuple[int, dict]:
    term = query.get("term", "")
    if len(term) < 2:
        raise _Fail(400, "term must be at least 2 characters")
    exact = query.get("exact_match") == "true"
    fields = query.get("fields", "phone").split(",")
    found = []
    for person in state.persons:
        phones = [p["value"] for p in person["phone"]]
        hit = "phone" in fields and any(_digits(term) and (_digits(term) == _digits(p) if exact
                                                          else _digits(term) in _digits(p)) for p in phones)
        if hit:
            found.append({"result_score": 0.9, "item": {"id": person["id"], "type": "person", "name": person["name"],
                                                        "phones": phones, "emails": [], "visible_to": 3,
                                                        "owner": {"id": state.users[0]["id"]},
                                                        "organization": None, "custom_fields": [], "notes": []}})
    return _page(state, found, query, wrap="items")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: FakeState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


class FakePipedrive:
    """Start with :meth:`start`, stop with :meth:`stop` (the tests' fixture does both)."""

    def __init__(self, token: str) -> None:
        self.state = FakeState(token)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-pipedrive", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakePipedrive":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
