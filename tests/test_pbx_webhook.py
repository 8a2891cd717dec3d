"""The PBX's call-completed webhook in `serve`: a secret token (Binotel) or the vendor's signature (Zadarma),
anything else refused; a call queued once however often it is sent, across a server restart; `compliance fetch`
without a period fetches the queue."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from compliance.cli import cli
from compliance.history.store import Store
from compliance.review.users import add_user
from compliance.sources.webhooks import WebhookSecrets
from compliance.web.app import create_app
from compliance.web.pbx_hook import pbx_routes

from .fake_pbx import FakePbx, start
from .web_server import running_server

TOKEN = "hook-token-8841-abcdef"
ZD_SECRET = "zd-hook-secret-77"
STAMP = int(dt.datetime(2026, 11, 27, 10, 0).timestamp())
DETAILS = {"generalCallID": "7001", "startTime": str(STAMP), "callType": "1", "internalNumber": "101",
           "externalNumber": "0671234567", "billsec": "61", "disposition": "ANSWER", "recordingStatus": "uploaded"}


def _client(db, monkeypatch) -> TestClient:
    monkeypatch.setenv("BINOTEL_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", ZD_SECRET)
    return TestClient(create_app(db, secret="s"))


def _queued(db) -> list[tuple[str, str, str]]:
    with Store(db, read_only=True) as store:
        return [(r.provider, r.pbx_call_id, r.status) for r in store.pbx_calls()]


def test_binotel_notice_is_queued_once_and_a_wrong_token_is_refused(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    client = _client(db, monkeypatch)
    body = {"requestType": "apiCallCompleted", "callDetails": DETAILS}
    for _ in range(2):  # Binotel sends again when it is not sure we got it
        res = client.post(f"/pbx/binotel/{TOKEN}", json=body)
        assert res.status_code == 200 and res.json() == {"status": "success"}
    assert _queued(db) == [("binotel", "7001", "queued")]
    assert client.post("/pbx/binotel/wrong-token", json={**body, "callDetails": {**DETAILS, "generalCallID": "7002"}}
                       ).status_code == 403
    assert client.post(f"/pbx/binotel/{TOKEN}", json={"requestType": "apiCallCompleted"}).status_code == 400
    assert client.post(f"/pbx/binotel/{TOKEN}", content=b"{" * 70000,
                       headers={"content-type": "application/json"}).status_code == 413
    form = {f"callDetails[{k}]": v for k, v in {**DETAILS, "generalCallID": "7003"}.items()}
    assert client.post(f"/pbx/binotel/{TOKEN}", data={"requestType": "apiCallCompleted", **form}).status_code == 200
    assert client.post(f"/pbx/binotel/{TOKEN}", json={"requestType": "apiCallSettings"}).json() == {
        "status": "success"}
    assert [c for _, c, _ in _queued(db)] == ["7001", "7003"]


def test_binotel_webhooks_are_off_without_a_token(tmp_path, monkeypatch):
    monkeypatch.delenv("BINOTEL_WEBHOOK_TOKEN", raising=False)
    monkeypatch.delenv("ZADARMA_API_SECRET", raising=False)
    client = TestClient(create_app(tmp_path / "h.db", secret="s"))
    assert client.post("/pbx/binotel/anything", json={"requestType": "apiCallCompleted"}).status_code == 404
    assert client.get("/pbx/zadarma", params={"zd_echo": "x"}).status_code == 404


def _zd_signature(data: str) -> str:
    digest = hmac.new(ZD_SECRET.encode(), data.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def test_zadarma_notice_needs_its_signature(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    client = _client(db, monkeypatch)
    assert client.get("/pbx/zadarma", params={"zd_echo": "abc123"}).text == "abc123"
    incoming = {"event": "NOTIFY_END", "call_start": "2026-11-27 10:00:00", "pbx_call_id": "in_5001",
                "caller_id": "380671234567", "called_did": "380441112233", "internal": "101", "duration": "40",
                "disposition": "answered", "is_recorded": "1", "call_id_with_rec": "1700.1"}
    res = client.post("/pbx/zadarma", data=incoming, headers={"Signature": _zd_signature(
        "380671234567" + "380441112233" + "2026-11-27 10:00:00")})
    assert res.status_code == 200 and res.json() == {"status": "success", "queued": True}
    outgoing = {"event": "NOTIFY_OUT_END", "call_start": "2026-11-27 11:00:00", "pbx_call_id": "out_5002",
                "internal": "101", "destination": "380671234567", "duration": "0", "disposition": "busy"}
    assert client.post("/pbx/zadarma", data=outgoing, headers={"Signature": _zd_signature(
        "101380671234567" + "2026-11-27 11:00:00")}).json()["queued"] is True
    forged = {**incoming, "pbx_call_id": "in_666"}
    assert client.post("/pbx/zadarma", data=forged, headers={"Signature": _zd_signature("x")}).status_code == 403
    assert client.post("/pbx/zadarma", data=forged).status_code == 403
    assert [c for _, c, _ in _queued(db)] == ["in_5001", "out_5002"]
    with Store(db, read_only=True) as store:
        row = store.pbx_call("zadarma", "in_5001")
    assert row and row.call["record_ref"] == "1700.1" and row.call["direction"] == "in"


def test_pbx_routes_never_show_their_secrets():
    secrets = WebhookSecrets(binotel_token=TOKEN, zadarma_secret=ZD_SECRET)  # type: ignore[arg-type]
    for shown in (repr(secrets), str(secrets)):
        assert TOKEN not in shown and ZD_SECRET not in shown
    assert {r.path for r in pbx_routes(WebhookSecrets())} == {"/pbx/binotel/{token}", "/pbx/zadarma"}


@pytest.mark.slow
def test_real_server_webhook_survives_a_restart_and_fetch_takes_the_queue(tmp_path, monkeypatch):
    db = tmp_path / "h.db"
    with Store(db) as store:
        add_user(store, "lead", "lead", "a long enough password 1")
    monkeypatch.setenv("BINOTEL_WEBHOOK_TOKEN", TOKEN)
    body = json.dumps({"requestType": "apiCallCompleted", "callDetails": DETAILS})
    for _ in range(2):  # the server stops and starts again between the two notices of one call
        with running_server(db) as base:
            res = httpx.post(f"{base}/pbx/binotel/{TOKEN}", content=body,
                             headers={"content-type": "application/json"})
            assert res.status_code == 200 and res.json() == {"status": "success"}
    assert _queued(db) == [("binotel", "7001", "queued")]
    state = FakePbx()
    state.records = {"7001": b"ID3" + bytes(range(256)) * 100}
    server, url = start(state)
    team = tmp_path / "team.yaml"
    team.write_text("managers:\n  ivanova: {pbx_extensions: [101]}\n", encoding="utf-8")
    env = {"BINOTEL_API_KEY": state.binotel_key, "BINOTEL_API_SECRET": state.binotel_secret,
           "BINOTEL_API_URL": f"{url}/api/4.0"}
    args = ["fetch", "binotel", "--root", str(tmp_path / "rec"), "--db", str(db), "--team", str(team), "--lang", "en"]
    try:
        first = CliRunner().invoke(cli, args, env=env)
        second = CliRunner().invoke(cli, args, env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert first.exit_code == 0, first.output
    assert first.output.splitlines()[-1] == "binotel queued and retried calls: fetched 1"
    assert second.output.splitlines()[-1] == "binotel queued and retried calls: no calls"
    assert state.count("/api/4.0/stats/incoming") == 0  # no period asked: only the queue
    assert _queued(db) == [("binotel", "7001", "fetched")]
    assert (tmp_path / "rec" / "ivanova" / "2026-11-27").is_dir()
