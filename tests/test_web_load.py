"""Load on loopback (issue 11): 50 concurrent clients view pages and override stages for a bounded time against a
real `compliance serve`, while a real `compliance batch` writes into the same SQLite history (WAL). Prints
requests/s and p95 latency; asserts zero errors and that no override was lost (each is in the audit trail)."""
from __future__ import annotations

import datetime as dt
import os
import random
import re
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from .conftest import ROOT
from .review_helpers import PASSWORDS, build_history
from .test_batch import _day
from .web_server import running_server

pytestmark = pytest.mark.slow
CLIENTS = 50
BATCH_FILES = 100
SECONDS = float(os.environ.get("LOAD_SECONDS", "20"))
CSRF = 'name="csrf_token" value="'


def _client(base: str, login: str, calls: list[str], ready: threading.Barrier, seed: int, out: dict) -> None:
    try:
        _client_loop(base, login, calls, ready, seed, out)
    except Exception as exc:  # a client that dies is an error of the run, not a silent thread
        out["errors"].append(f"client {seed}: {exc!r}")
        ready.abort()  # the others stop waiting for it: the run fails with this error, not a broken barrier


def _token(res: httpx.Response) -> str:
    """The form token of a page, or a failure that says which page came instead (status and its first words)."""
    if CSRF not in res.text:
        words = " ".join(re.sub(r"<[^>]+>", " ", res.text).split())[:300]
        raise AssertionError(f"{res.request.method} {res.request.url.path} -> {res.status_code} without a form: {words}")
    return res.text.split(CSRF, 1)[1].split('"', 1)[0]


def _client_loop(base: str, login: str, calls: list[str], ready: threading.Barrier, seed: int, out: dict) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60) as http:
        token = _token(http.get("/login"))
        res = http.post("/login", data={"login": login, "password": PASSWORDS[login], "csrf_token": token})
        assert res.status_code == 303, res.text
        token = _token(http.get("/", follow_redirects=True))
        # Everyone logged in: the measured run starts together. Logins of one account are checked one at a time
        # (argon2, slow on purpose), so 25 logins of the lead take a while on a slow machine.
        ready.wait(timeout=600)
    # A connection idle through the wait outlives the server's keep-alive (5 s): the server closes it, and a request
    # sent as it does so fails in the client (a browser retries it). The measured run starts on fresh connections.
    with httpx.Client(base_url=base, follow_redirects=False, timeout=60, cookies=dict(http.cookies)) as http:
        n = 0
        while _going(out):
            n += 1
            began = time.monotonic()
            call = rng.choice(calls)
            if login == "lead" and n % 4 == 0:
                note = f"load {seed}-{n}"
                res = http.post(f"/calls/{call}/override", data={
                    "stage_id": rng.choice(["greeting", "needs", "offer", "farewell"]), "line": "",
                    "present": rng.choice("01"), "note": note, "csrf_token": token})
                ok = res.status_code == 303
                if ok:
                    out["notes"].append(note)
            else:
                res = http.get(rng.choice([f"/calls/{call}", "/", "/disputes"]))
                ok = res.status_code in (200, 303)
            out["latency"].append(time.monotonic() - began)
            if not ok:
                out["errors"].append(f"{res.request.method} {res.request.url.path}: {res.status_code}")


def _going(out: dict) -> bool:
    """The run goes on until its deadline, and past it (a minute at most) until the batch has stored a call: on a
    loaded machine the batch's start-up once outlasted the 20 s run, and no write fell under the load."""
    now = time.monotonic()
    return now < out["deadline"] or (not out["written"].is_set() and now < out["deadline"] + 60)


def _watch(db, before: int, out: dict) -> None:
    """Sets ``out["written"]`` once the history holds more calls than ``before``."""
    while not out["written"].is_set() and not out["stop"].is_set():
        with sqlite3.connect(db, timeout=5) as conn:
            if conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0] > before:
                out["written"].set()
        time.sleep(0.5)


def test_fifty_clients_with_a_batch_writing(tmp_path, capsys):
    db = tmp_path / "history.db"
    records = build_history(db)
    lead_calls = [r.call_id for r in records if r.result.connected]
    own = {m: [r.call_id for r in records if r.manager == m] for m in ("ivanova", "petrov")}
    folder = _day(tmp_path / "incoming", BATCH_FILES)
    command = [sys.executable, "-c", "from compliance.cli import main; main()", "batch", str(folder), "--db", str(db),
               "--workers", "1"]
    procs: list[subprocess.Popen] = []
    logins_began = time.monotonic()
    with running_server(db) as base:
        try:
            out: dict = {"latency": [], "errors": [], "notes": [], "deadline": 0.0, "written": threading.Event(),
                         "stop": threading.Event()}
            timing: dict = {}
            watcher = threading.Thread(target=_watch, args=(db, len(records), out))

            def start() -> None:
                # Everyone is logged in (a login's password check is slow on purpose): the batch starts writing now,
                # while the clients load the app.
                procs.append(subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
                timing["began"] = time.monotonic()
                timing["logins"] = timing["began"] - logins_began
                timing["began_at"] = dt.datetime.now().isoformat(timespec="seconds")
                out["deadline"] = timing["began"] + SECONDS
                watcher.start()

            ready = threading.Barrier(CLIENTS, action=start)
            threads = []
            for i in range(CLIENTS):
                login = ["lead", "lead", "ivanova", "petrov"][i % 4]
                calls = lead_calls if login == "lead" else own[login]
                threads.append(threading.Thread(target=_client, args=(base, login, calls, ready, i, out)))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert "began" in timing, f"the clients never all logged in: {out['errors'][:5]}"
            elapsed = time.monotonic() - timing["began"]
            timing["ended_at"] = dt.datetime.now().isoformat(timespec="seconds")
            (batch,) = procs
            timing["batch_still_running"] = batch.poll() is None
            batch_out = batch.communicate(timeout=300)[0].decode(errors="replace")
        finally:
            out["stop"].set()
            if watcher.is_alive():
                watcher.join()
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    assert batch.returncode == 0, batch_out[-2000:]
    assert not out["errors"], out["errors"][:10]
    latencies = sorted(out["latency"])
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    with capsys.disabled():
        print(f"\nload: {CLIENTS} clients, {elapsed:.1f} s, {len(latencies)} requests, "
              f"{len(latencies) / elapsed:.1f} requests/s, p95 {p95 * 1000:.0f} ms, "
              f"{len(out['notes'])} overrides, errors {len(out['errors'])}; batch still writing at the end: "
              f"{timing['batch_still_running']}; logins took {timing['logins']:.0f} s")
    assert not out["errors"], out["errors"][:10]
    assert len(out["notes"]) > 0
    with sqlite3.connect(db) as conn:
        audited = {r[0] for r in conn.execute("SELECT note FROM audit WHERE action = 'override'")}
        stored = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        during = conn.execute("SELECT COUNT(*) FROM calls WHERE analysed_at BETWEEN ? AND ?",
                              (timing["began_at"], timing["ended_at"])).fetchone()[0]
    assert during > 0  # the batch wrote into the history while the app was under load
    assert set(out["notes"]) <= audited  # no override lost
    assert stored == len(records) + BATCH_FILES  # and the batch stored every call meanwhile
