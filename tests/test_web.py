"""The review app over HTTP, in-process (starlette's TestClient): log in, access rules, CSRF, session expiry,
the login slowdown, XSS in notes and names, overrides and disputes through the forms (issue 11)."""
from __future__ import annotations

import re
import sqlite3
import time
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlparse

import pytest
from starlette.testclient import TestClient

from compliance.history.store import Store
from compliance.review.ledger import audit_trail
from compliance.web.app import create_app

from .review_helpers import PASSWORDS, build_history
from .test_reports_browser import _write_wav

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    db = base / "history.db"
    records = build_history(db)
    wav = base / "call.wav"
    _write_wav(wav, seconds=2.0)
    with sqlite3.connect(db) as conn:  # every call has a recording: their URLs are walked too
        conn.execute("UPDATE calls SET audio = ?", (str(wav),))
    return db, records


@pytest.fixture()
def db(history, tmp_path):
    """A fresh copy per test: tests change the history."""
    src, _ = history
    copy = tmp_path / "history.db"
    with sqlite3.connect(src) as a, sqlite3.connect(copy) as b:
        a.backup(b)
    return copy


def _client(db, **kwargs) -> TestClient:
    return TestClient(create_app(db, secret="test-secret", login_delay=kwargs.pop("login_delay", 0.01), **kwargs),
                      follow_redirects=False)


def _csrf(client: TestClient, url: str = "/login") -> str:
    match = CSRF.search(client.get(url).text)
    assert match, url
    return match.group(1)


def _login(client: TestClient, login: str, password: str | None = None):
    return client.post("/login", data={"login": login, "password": password or PASSWORDS[login],
                                       "csrf_token": _csrf(client)})


def _owner(records) -> dict[str, str]:
    return {r.call_id: r.manager for r in records}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("href", "src"):
            value = a.get(key)
            if value and value.startswith("/"):
                self.links.add(urldefrag(value)[0])


def _walk(client: TestClient) -> set[str]:
    """Every URL the logged-in user can reach by following links from the home page."""
    seen, todo = set(), ["/"]
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        res = client.get(url, follow_redirects=True)
        assert res.status_code == 200, url
        if res.headers["content-type"].startswith("text/html"):
            parser = _Links()
            parser.feed(res.text)
            todo += [u for u in parser.links if u not in seen]
    return seen


def test_login_sets_a_safe_session_cookie(db):
    client = _client(db)
    assert client.get("/").headers["location"] == "/login"
    assert client.post("/login", data={"login": "lead", "password": PASSWORDS["lead"]}).status_code == 403
    bad = _login(client, "lead", "wrong password")
    assert bad.status_code == 401 and "Неверный логин или пароль" in bad.text
    res = _login(client, "lead")
    assert res.status_code == 303 and res.headers["location"] == "/"
    cookie = res.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "max-age=43200" in cookie
    page = client.get("/")
    assert page.status_code == 200 and "Команда" in page.text
    assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
    out = client.post("/logout", data={"csrf_token": CSRF.search(page.text).group(1)})
    assert out.status_code == 303 and client.get("/").headers["location"] == "/login"


def test_a_manager_reaches_only_their_own_calls(db, history):
    _, records = history
    owner = _owner(records)
    lead = _client(db)
    _login(lead, "lead")
    urls = _walk(lead)
    calls = {u for u in urls if u.startswith("/calls/")}
    assert "/agreement" in urls and "/disputes" in urls
    assert {u.split("/")[2] for u in calls} == set(owner)  # every call page and recording was reached
    assert any(u.endswith("/audio") for u in calls)
    manager = _client(db)
    _login(manager, "ivanova")
    allowed = 0
    for url in sorted(urls):
        res = manager.get(url)
        path = urlparse(url).path
        parts = path.strip("/").split("/")
        if parts[0] == "calls":
            mine = owner[parts[1]] == "ivanova"
        elif parts[0] == "managers":
            mine = parts[1] == "ivanova"
        else:
            mine = path in ("/", "/disputes")
        expected = (200, 303) if mine else (404,)
        assert res.status_code in expected, (url, res.status_code)
        allowed += mine
    assert allowed >= 5
    assert manager.get("/").headers["location"] == "/managers/ivanova"
    assert "Петров" not in manager.get("/managers/ivanova").text


def test_override_through_the_form_changes_the_score(db, history):
    _, records = history
    client = _client(db)
    _login(client, "lead")
    page = client.get("/calls/call001")
    assert page.status_code == 200 and "исправлено руководителем" not in page.text
    before = re.search(r'<div class="big">([^<]+)<', page.text).group(1)
    token = CSRF.search(page.text).group(1)
    form = {"stage_id": "payment_timing", "line": "", "present": "1", "note": "сказала в конце"}
    assert client.post("/calls/call001/override", data=form).status_code == 403  # no token
    assert client.post("/calls/call001/override", data={**form, "csrf_token": "forged"}).status_code == 403
    res = client.post("/calls/call001/override", data={**form, "csrf_token": token})
    assert res.status_code == 303 and res.headers["location"] == "/calls/call001#st-payment_timing"
    after = client.get("/calls/call001").text
    assert "исправлено руководителем: lead" in after and "сказала в конце" in after
    assert re.search(r'<div class="big">([^<]+)<', after).group(1) != before
    assert "оценка машины" in after and before in after
    calibration = client.get("/agreement").text
    assert "проверено звонков: <strong>1</strong>" in calibration and "Когда клиент планирует оплату" in calibration
    bad = client.post("/calls/call001/override", data={**form, "stage_id": "nope", "csrf_token": token})
    assert bad.status_code == 400 and "нет этапа" in bad.text
    # a manager cannot override, even their own call
    manager = _client(db)
    _login(manager, "ivanova")
    token = CSRF.search(manager.get("/calls/call001").text).group(1)
    assert manager.post("/calls/call001/override", data={**form, "csrf_token": token}).status_code == 404


def test_dispute_accept_and_reject(db, history):
    manager = _client(db)
    _login(manager, "ivanova")
    token = CSRF.search(manager.get("/calls/call000").text).group(1)
    res = manager.post("/calls/call000/dispute", data={"stage_id": "greeting", "comment": "я поздоровалась",
                                                       "csrf_token": token})
    assert res.status_code == 303
    assert manager.post("/calls/call005/dispute", data={"stage_id": "greeting", "comment": "x",
                                                        "csrf_token": token}).status_code == 404  # petrov's call
    manager.post("/calls/call001/dispute", data={"stage_id": "needs", "comment": "второй", "csrf_token": token})
    lead = _client(db)
    _login(lead, "lead")
    home = lead.get("/").text
    assert home.index("я поздоровалась") < home.index('href="/managers/ivanova"')  # open disputes before the managers
    # the dispute as people read it: the manager, the call's date and time, the stage's title; no hash, no stage id
    row = home[home.index("я поздоровалась") - 1500:home.index("я поздоровалась")]
    row = row[row.rindex("<tr"):]
    assert "Иванова Мария" in row and "23.11.2026 09:42" in row and "Приветствие" in row, row
    assert ">greeting<" not in row and ">call000<" not in home
    ids = [int(x) for x in re.findall(r'action="/disputes/(\d+)/resolve"', home)]
    token = CSRF.search(home).group(1)
    assert lead.post(f"/disputes/{ids[0]}/resolve", data={"decision": "reject", "note": "",
                                                          "csrf_token": token}).status_code == 400
    assert lead.post(f"/disputes/{ids[0]}/resolve", data={"decision": "reject", "note": "не слышно",
                                                          "csrf_token": token}).status_code == 303
    assert lead.post(f"/disputes/{ids[1]}/resolve", data={"decision": "accept", "note": "да",
                                                          "csrf_token": token}).status_code == 303
    mine = manager.get("/disputes").text
    assert "принят" in mine and "отклонён" in mine and "не слышно" in mine
    token = CSRF.search(mine).group(1)
    assert manager.post(f"/disputes/{ids[0]}/resolve", data={"decision": "accept", "note": "",
                                                             "csrf_token": token}).status_code == 404
    with Store(db) as store:
        assert [e.action for e in audit_trail(store)].count("override") == 1


def test_session_expires(db):
    client = _client(db, session_max_age=1)
    _login(client, "lead")
    assert client.get("/").status_code == 200
    time.sleep(2.1)
    assert client.get("/").headers["location"] == "/login"


def test_a_removed_account_is_logged_out(db):
    client = _client(db)
    _login(client, "petrov")
    assert client.get("/managers/petrov").status_code == 200
    with Store(db) as store:
        from compliance.review.users import remove_user
        remove_user(store, "petrov")
    assert client.get("/managers/petrov").headers["location"] == "/login"


def test_repeated_failed_logins_are_slowed_down(db):
    client = _client(db, login_delay=0.3)
    took = []
    for _ in range(5):
        began = time.monotonic()
        assert _login(client, "lead", "wrong password").status_code == 401
        took.append(time.monotonic() - began)
    assert took[4] >= 0.6 and took[4] > took[0] + 0.4, took
    other = _client(db, login_delay=0.3)  # another login is not slowed by these failures
    began = time.monotonic()
    _login(other, "ivanova")
    assert time.monotonic() - began < took[0] + 0.4  # as fast as a first attempt (argon2 takes its time)


def test_notes_comments_and_names_are_escaped(db):
    evil = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    lead = _client(db)
    _login(lead, "lead")
    token = CSRF.search(lead.get("/calls/call001").text).group(1)
    lead.post("/calls/call001/override", data={"stage_id": "greeting", "line": "0", "present": "0", "note": evil,
                                               "csrf_token": token})
    manager = _client(db)
    _login(manager, "ivanova")
    token = CSRF.search(manager.get("/calls/call001").text).group(1)
    manager.post("/calls/call001/dispute", data={"stage_id": "needs", "comment": evil, "csrf_token": token})
    for page in (lead.get("/calls/call001").text, lead.get("/").text, manager.get("/disputes").text):
        assert "<script>alert('x')" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(" in page
    team = lead.get("/").text  # a manager whose name is HTML (the sample's hostile manager)
    assert "<script>alert('имя')" not in team and "&lt;script&gt;alert(&#39;имя&#39;)" in team


def test_recording_answers_ranges(db):
    client = _client(db)
    _login(client, "ivanova")
    res = client.get("/calls/call000/audio", headers={"Range": "bytes=0-99"})
    assert res.status_code == 206 and len(res.content) == 100
    assert client.get("/calls/call005/audio").status_code == 404


class _Fields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.labels: set[str] = set()
        self.unnamed: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "label" and a.get("for"):
            self.labels.add(a["for"])
        if tag in ("input", "select", "textarea") and a.get("type") != "hidden":
            if not a.get("id"):
                self.unnamed.append(str(a))
            else:
                self.fields.append(a["id"])


@pytest.mark.parametrize("login", ["lead", "ivanova"])
def test_every_form_field_has_a_label(db, login):
    client = _client(db)
    pages = [client.get("/login").text]
    _login(client, login)
    pages += [client.get(u).text for u in ("/calls/call000", "/disputes", "/managers/ivanova")]
    for html in pages:
        parser = _Fields()
        parser.feed(html)
        assert not parser.unnamed
        assert set(parser.fields) <= parser.labels, set(parser.fields) - parser.labels
        assert len(parser.fields) == len(set(parser.fields))  # ids are unique


def test_use_as_example_from_a_line_the_lead_heard(db, tmp_path):
    import shutil

    from compliance.scoring.script_file import load_script

    from .review_helpers import GOLDEN_SCRIPT

    script_file = tmp_path / "sales_call.yaml"
    shutil.copy(GOLDEN_SCRIPT, script_file)
    client = TestClient(create_app(db, secret="s", scripts=[script_file]), follow_redirects=False)
    _login(client, "lead")
    page = client.get("/calls/call001").text
    assert 'action="/calls/call001/example"' not in page  # only for a line the lead marked present
    token = CSRF.search(page).group(1)
    client.post("/calls/call001/override", data={"stage_id": "payment_timing", "line": "0", "present": "1",
                                                 "note": "", "csrf_token": token})
    page = client.get("/calls/call001").text
    assert page.count('action="/calls/call001/example"') == 1
    res = client.post("/calls/call001/example", data={"stage_id": "payment_timing", "line": "0",
                                                      "sentence": "Оплатить удобнее сегодня или завтра?",
                                                      "csrf_token": token})
    assert res.status_code == 303
    assert "Оплатить удобнее сегодня или завтра?" in load_script(script_file).stages[3].examples()[0]
    assert "фраза в примеры" in client.get("/calls/call001").text  # in the audit trail
    bad = client.post("/calls/call001/example", data={"stage_id": "payment_timing", "line": "1", "sentence": "x",
                                                      "csrf_token": token})
    assert bad.status_code == 400


def test_a_restart_keeps_sessions_and_a_forged_cookie_is_refused(db):
    first = TestClient(create_app(db), follow_redirects=False)  # the secret made once, kept in the history
    _login(first, "lead")
    cookie = first.cookies.get("compliance_session")
    second = TestClient(create_app(db), follow_redirects=False)
    second.cookies.set("compliance_session", cookie)
    assert second.get("/").status_code == 200
    payload, _, signature = cookie.rpartition(".")
    forged = TestClient(create_app(db), follow_redirects=False)
    forged.cookies.set("compliance_session", payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:])
    assert forged.get("/").headers["location"] == "/login"
    other = TestClient(create_app(db, secret="another secret"), follow_redirects=False)
    other.cookies.set("compliance_session", cookie)
    assert other.get("/").headers["location"] == "/login"


def test_english_pages(db):
    client = TestClient(create_app(db, secret="s", lang="en"), follow_redirects=False)
    assert 'for="login">Login</label>' in client.get("/login").text
    _login(client, "lead")
    token = CSRF.search(client.get("/calls/call001").text).group(1)
    client.post("/calls/call001/override", data={"stage_id": "payment_timing", "line": "", "present": "1",
                                                 "note": "heard", "csrf_token": token})
    page = client.get("/calls/call001").text
    assert "corrected by the lead: lead" in page and "machine&#39;s score" in page and "Disputes" in page
    assert "исправлено" not in page and "Споры" not in page
