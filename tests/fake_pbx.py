"""Fake Binotel (REST API 4.0) and Zadarma (API v1) on 127.0.0.1: one real HTTP server in a thread.

Written from the vendors' public documentation and official SDKs, not from our client:
* Binotel: POST ``/api/4.0/<section>/<method>.json``, raw JSON with ``key`` and ``secret``; always HTTP 200, errors
  as ``{"status": "error", "code": N, "message": …}`` (106 too frequent, 121 wrong key); ``callDetails`` keyed by
  ``generalCallID``; ``stats/call-record`` gives ``url``, a link that expires (15 minutes there; here: when told).
* Zadarma: GET ``/v1/…`` signed ``Authorization: KEY:base64(hex(hmac_sha1(secret, method + query + md5(query))))``
  over the sorted, URL-encoded parameters; ``/v1/statistics/pbx/`` refuses a span over a month or ``limit`` over
  1000 and pages with ``skip``; too many requests: 429 with ``X-RateLimit-*`` headers.
Switches make it do what real services do now and then: throttle, expire links, cut a download short, send broken
JSON, a huge answer, a slow one.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qsl, quote_plus, urlsplit


def zadarma_signature(method: str, params: list[tuple[str, str]], secret: str) -> str:
    """As the official PHP SDK: ksort, http_build_query (spaces as '+'), md5 hex, hash_hmac hex, base64."""
    query = "&".join(f"{quote_plus(k)}={quote_plus(v)}" for k, v in sorted(params))
    digest = hmac.new(secret.encode(), (method + query + hashlib.md5(query.encode()).hexdigest()).encode(),
                      hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


class FakePbx:
    """State and switches of both fakes."""

    def __init__(self) -> None:
        self.binotel_key, self.binotel_secret = "bn-key-7731", "bn-secret-XYZ-0042"
        self.zadarma_key, self.zadarma_secret = "zd-key-5521", "zd-secret-QWE-9911"
        self.binotel_calls: list[dict] = []          # callDetails entries
        self.zadarma_stats: list[dict] = []          # statistics rows (one per leg), with "call_type"
        self.records: dict[str, bytes] = {}          # generalCallID / Zadarma call_id → audio
        self.suffixes: dict[str, str] = {}           # call id → the link's file suffix (default .mp3)
        self.throttle = 0                            # Binotel: answer code 106 this many times
        self.limit_429 = 0                           # Zadarma: answer 429 this many times
        self.expire_next = 0                         # the next N downloads answer 403 (an expired link)
        self.cut_next = 0                            # the next N downloads stop halfway
        self.broken_json: set[str] = set()           # Binotel methods that answer broken JSON (once each)
        self.huge: set[str] = set()                  # methods that answer megabytes
        self.slow_download = 0.0                     # seconds between chunks of a download
        self.requests: list[tuple[str, str]] = []
        self._links: dict[str, str] = {}
        self._ids = itertools.count(1)
        self.lock = threading.Lock()

    def count(self, prefix: str) -> int:
        return sum(1 for _, p in self.requests if p.startswith(prefix))


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        state = self.server.state
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        url = urlsplit(self.path)
        with state.lock:
            state.requests.append((method, self.path))
        if url.path.startswith("/rec/"):
            return self._recording(url.path[5:])
        if url.path.startswith("/api/4.0/"):
            return self._binotel(url.path[len("/api/4.0/"):].removesuffix(".json"), raw)
        if url.path.startswith("/v1/"):
            return self._zadarma(url.path, url.query)
        self._send(404, b"not found", "text/plain")

    # -- Binotel -----------------------------------------------------------------------------------
    def _binotel(self, method: str, raw: bytes) -> None:
        state = self.server.state
        try:
            body = json.loads(raw)
        except ValueError:
            return self._json(200, {"status": "error", "code": 103, "message": "Not enough data"})
        if body.get("key") != state.binotel_key or body.get("secret") != state.binotel_secret:
            return self._json(200, {"status": "error", "code": 121, "message": "Your key or secret is wrong"})
        with state.lock:
            if state.throttle:
                state.throttle -= 1
                return self._json(200, {"status": "error", "code": 106, "message": "Requests are too frequent"})
            if method in state.broken_json:
                state.broken_json.discard(method)
                return self._send(200, b'{"status": "success", "callDetails": {', "application/json")
        if method in state.huge:
            return self._send(200, b'{"status":"success","callDetails":{' + b" " * (3 << 20) + b"}}",
                              "application/json")
        if method in ("stats/incoming-calls-for-period", "stats/outgoing-calls-for-period"):
            start, stop = int(body.get("startTime", 0)), int(body.get("stopTime", 0))
            if stop < start or stop - start > 86400:
                return self._json(200, {"status": "error", "code": 104, "message": "Wrong data"})
            kind = "0" if method.startswith("stats/incoming") else "1"
            calls = {c["generalCallID"]: c for c in state.binotel_calls
                     if c["callType"] == kind and start <= int(c["startTime"]) <= stop}
            return self._json(200, {"status": "success", "callDetails": calls})
        if method == "stats/call-record":
            call_id = str(body.get("generalCallID"))
            if call_id not in state.records:
                return self._json(200, {"status": "error", "code": 104, "message": "Wrong data"})
            return self._json(200, {"status": "success", "url": self._link(call_id)})
        return self._json(200, {"status": "error", "code": 102, "message": "No such method"})

    # -- Zadarma -----------------------------------------------------------------------------------
    def _zadarma(self, path: str, query: str) -> None:
        state = self.server.state
        params = parse_qsl(query, keep_blank_values=True)
        expected = f"{state.zadarma_key}:{zadarma_signature(path, params, state.zadarma_secret)}"
        if self.headers.get("authorization") != expected:
            return self._json(401, {"status": "error", "message": "Not authorized"})
        with state.lock:
            if state.limit_429:
                state.limit_429 -= 1
                return self._json(429, {"status": "error", "message": "Too many requests"},
                                  {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
                                   "X-RateLimit-Reset": str(int(time.time()) + 2)})
        args = dict(params)
        if path == "/v1/statistics/pbx/":
            if path in state.huge:
                return self._send(200, b'{"status":"success","stats":[' + b" " * (3 << 20) + b"]}",
                                  "application/json")
            start = dt.datetime.strptime(args["start"], "%Y-%m-%d %H:%M:%S")
            end = dt.datetime.strptime(args["end"], "%Y-%m-%d %H:%M:%S")
            limit, skip = int(args.get("limit", 1000)), int(args.get("skip", 0))
            if end - start > dt.timedelta(days=31) or limit > 1000 or end < start:
                return self._json(400, {"status": "error", "message": "Wrong parameters"})
            rows = [r for r in state.zadarma_stats
                    if start <= dt.datetime.strptime(r["callstart"], "%Y-%m-%d %H:%M:%S") <= end
                    and r.get("call_type", "out") == args.get("call_type", r.get("call_type", "out"))]
            page = [{k: v for k, v in r.items() if k != "call_type"} for r in rows[skip:skip + limit]]
            return self._json(200, {"status": "success", "start": args["start"], "end": args["end"], "stats": page})
        if path == "/v1/pbx/record/request/":
            call_id = args.get("call_id", "")
            if call_id not in state.records:
                return self._json(404, {"status": "error", "message": "Record not found"})
            return self._json(200, {"status": "success", "link": self._link(call_id), "lifetime_till": "x"})
        return self._json(404, {"status": "error", "message": "Method not found"})

    # -- recordings --------------------------------------------------------------------------------
    def _link(self, call_id: str) -> str:
        state = self.server.state
        token = f"t{next(state._ids)}"
        state._links[token] = call_id
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/rec/{token}{state.suffixes.get(call_id, '.mp3')}"

    def _recording(self, name: str) -> None:
        state = self.server.state
        call_id = state._links.get(name.rsplit(".", 1)[0])
        if call_id is None or call_id not in state.records:
            return self._send(404, b"no such file", "text/plain")
        with state.lock:
            if state.expire_next:
                state.expire_next -= 1
                return self._send(403, b"<Error><Code>AccessDenied</Code>Request has expired</Error>",
                                  "application/xml")
            cut = state.cut_next > 0
            state.cut_next -= 1 if cut else 0
        data = state.records[call_id]
        self.send_response(200)
        self.send_header("content-type", "audio/mpeg")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        if cut:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        for i in range(0, len(data), 8192):
            if state.slow_download:
                time.sleep(state.slow_download)
            try:
                self.wfile.write(data[i:i + 8192])
            except OSError:
                return

    def _json(self, status: int, body: Any, headers: Optional[dict] = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(self, status: int, data: bytes, ctype: str, headers: Optional[dict] = None) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: FakePbx


def start(state: FakePbx) -> tuple[_Server, str]:
    """Serve ``state`` on a free loopback port; returns the server and its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
