"""Property-based fuzz of the review app's forms (Hypothesis, issue 22): any value in any field of every form, and
any bytes as a form body, get a page or a 4xx, never a 500, and a refused change writes nothing. Bounded to a few
seconds a property so that it fits CI (in-process app, one history per module)."""
from __future__ import annotations

import re
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from compliance.web.app import create_app

from .review_helpers import PASSWORDS, build_history

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                           HealthCheck.too_slow])
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
OK = {200, 303, 400, 403, 404, 413, 415, 429}
# Field values: text of any script (no lone surrogates: they cannot be sent as UTF-8), digits of other scripts,
# numbers far beyond 64 bits, and what the forms expect.
values = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=60),
    st.sampled_from(["", "0", "1", "-1", "²", "١٢", "９", "1e9", "0x10", " 1", "1 ", "NaN", "None", "greeting",
                     "needs", "accept", "reject", "../../etc/passwd", "<script>"]),
    st.integers(min_value=-(2 ** 80), max_value=2 ** 80).map(str),
)


@pytest.fixture(scope="module")
def app_clients(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "history.db"
    build_history(db)
    clients = {}
    for login in ("lead", "ivanova"):
        client = TestClient(create_app(db, secret="fuzz-secret-" + "0" * 32, login_delay=0.001),
                            follow_redirects=False, raise_server_exceptions=False)
        token = CSRF.search(client.get("/login").text).group(1)
        assert client.post("/login", data={"login": login, "password": PASSWORDS[login],
                                           "csrf_token": token}).status_code == 303
        clients[login] = (client, CSRF.search(client.get("/").text if login == "lead"
                                              else client.get("/managers/ivanova").text).group(1))
    return db, clients


def _audit_rows(db) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM audit").fetchone()[0])


@SETTINGS
@given(stage=values, line=values, present=values, note=values, call=st.sampled_from(["call001", "call000", "x"]))
def test_any_override_form_is_a_page_or_a_4xx(app_clients, stage, line, present, note, call):
    db, clients = app_clients
    client, token = clients["lead"]
    before = _audit_rows(db)
    res = client.post(f"/calls/{call}/override", data={"stage_id": stage, "line": line, "present": present,
                                                       "note": note, "csrf_token": token})
    assert res.status_code in OK and res.status_code != 500, res.text[-500:]
    assert (_audit_rows(db) > before) == (res.status_code == 303)  # a refused change writes nothing


@SETTINGS
@given(stage=values, line=values, comment=values)
def test_any_dispute_form_is_a_page_or_a_4xx(app_clients, stage, line, comment):
    db, clients = app_clients
    client, token = clients["ivanova"]
    before = _audit_rows(db)
    res = client.post("/calls/call000/dispute", data={"stage_id": stage, "line": line, "comment": comment,
                                                      "csrf_token": token})
    assert res.status_code in OK, res.text[-500:]
    assert (_audit_rows(db) > before) == (res.status_code == 303)


@SETTINGS
@given(dispute=st.integers(min_value=0, max_value=2 ** 90), decision=values, note=values, back=values)
def test_any_resolve_form_is_a_page_or_a_4xx(app_clients, dispute, decision, note, back):
    _, clients = app_clients
    client, token = clients["lead"]
    res = client.post(f"/disputes/{dispute}/resolve", data={"decision": decision, "note": note, "back": back,
                                                            "csrf_token": token})
    assert res.status_code in OK, res.text[-500:]
    if res.status_code == 303:
        assert res.headers["location"].startswith("/") and not res.headers["location"].startswith("//")


@SETTINGS
@given(body=st.binary(max_size=300), kind=st.sampled_from(["application/x-www-form-urlencoded",
                                                           "multipart/form-data; boundary=x", "text/plain", ""]),
       path=st.sampled_from(["/login", "/logout", "/calls/call001/override", "/calls/call001/example"]))
def test_any_bytes_as_a_form_body_are_a_4xx(app_clients, body, kind, path):
    db, clients = app_clients
    client, _ = clients["lead"]
    before = _audit_rows(db)
    res = client.post(path, content=body, headers={"content-type": kind} if kind else {})
    assert res.status_code in OK - {200, 303} or (path == "/login" and res.status_code in (401, 403)), res.status_code
    assert _audit_rows(db) == before


@SETTINGS
@given(login=values, password=values)
def test_any_login_form_is_a_page(app_clients, login, password):
    from compliance.web.guard import LoginThrottle

    _, clients = app_clients
    app = clients["lead"][0].app
    if not isinstance(app.state.review.throttle.hold, float) or app.state.review.throttle.hold > 0.2:
        app.state.review.throttle = LoginThrottle(0.001, hold=0.2)  # refuse rather than wait: CI time
    client = TestClient(app, follow_redirects=False, raise_server_exceptions=False)
    token = CSRF.search(client.get("/login").text).group(1)
    res = client.post("/login", data={"login": login, "password": password, "csrf_token": token})
    assert res.status_code in {401, 429} or (res.status_code == 303 and PASSWORDS.get(login) == password)
