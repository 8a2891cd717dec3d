"""The parts of the Pipedrive push on their own: the API address and token, phone numbers, the call-log outcome,
the note's summary and escaping, the roster's user ids, and the client's waits against the fake server."""
from __future__ import annotations

import datetime as dt

import pytest

from compliance.crm.match import call_start_utc, load_zone, same_phone
from compliance.crm.note import content_hash, render_note
from compliance.crm.pipedrive import PipedriveClient, RetryPolicy, api_base, load_token
from compliance.crm.push import call_outcome
from compliance.crm.summary import summarise
from compliance.errors import CrmError, TeamError
from compliance.history.roster import load_team
from compliance.scoring.result import CallRecord
from compliance.scoring.score import score_call
from compliance.scoring.transcript import load_transcript, parse_text_transcript

from .conftest import FIXTURES
from .fake_pipedrive import FakePipedrive

CALLS = FIXTURES / "calls"
pytestmark = pytest.mark.usefixtures("english")   # the errors' English wording (Russian: test_languages_engine)


def _scored(default_script, text_or_name: str) -> CallRecord:
    """A fixture call by name, or a transcript written in the test (it has a newline)."""
    inline = "\n" in text_or_name
    transcript = parse_text_transcript(text_or_name) if inline else load_transcript(CALLS / text_or_name)
    result = score_call(transcript, default_script, "newcomer")
    return CallRecord(call_id="c1", file="/calls/x.txt" if inline else f"/calls/{text_or_name}", manager="ivanova",
                      manager_name="Иванова Мария", date="2026-11-27", time="10:31:02", result=result,
                      transcript=transcript)


# -- address, token ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    (None, "https://api.pipedrive.com"),
    ("https://api.pipedrive.com/v1/", "https://api.pipedrive.com"),
    ("https://acme.pipedrive.com", "https://acme.pipedrive.com/api"),
    ("https://acme.pipedrive.com/api/v1", "https://acme.pipedrive.com/api"),
    ("http://127.0.0.1:8123", "http://127.0.0.1:8123"),
])
def test_api_address(given, expected, monkeypatch):
    monkeypatch.delenv("PIPEDRIVE_API_URL", raising=False)
    assert api_base(given) == expected


@pytest.mark.parametrize("given, says", [
    ("http://api.pipedrive.com", "plain http would send the API token unencrypted"),
    ("ftp://api.pipedrive.com", "not an http(s) URL"),
    ("api.pipedrive.com", "not an http(s) URL"),
])
def test_unsafe_or_wrong_addresses_are_refused(given, says):
    with pytest.raises(CrmError, match=says.replace("(", r"\(").replace(")", r"\)")):
        api_base(given)


def test_token_from_file_or_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("PIPEDRIVE_API_TOKEN", raising=False)
    with pytest.raises(CrmError, match="no Pipedrive API token: set PIPEDRIVE_API_TOKEN or pass --token-file"):
        load_token()
    monkeypatch.setenv("PIPEDRIVE_API_TOKEN", " abc \n")
    assert load_token() == "abc"
    (tmp_path / "t").write_text("from-file\n", encoding="utf-8")
    assert load_token(tmp_path / "t") == "from-file"
    (tmp_path / "empty").write_text("\n", encoding="utf-8")
    with pytest.raises(CrmError, match="the token file is empty"):
        load_token(tmp_path / "empty")
    assert "abc" not in repr(PipedriveClient("https://api.pipedrive.com", "abc"))


# -- numbers and times ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, same", [
    ("380991234567", "+38 (099) 123-45-67", True),
    ("380991234567", "0991234567", True),
    ("+7 916 123-45-67", "8 (916) 123 45 67", True),
    ("380991234567", "380991234568", False),
    ("12345", "12345", False),          # too short to be a client's line
    (None, "380991234567", False),
])
def test_phone_numbers_compare_as_people_write_them(a, b, same):
    assert same_phone(a, b) is same


def test_call_time_is_converted_to_utc_in_the_recorders_zone(default_script):
    record = _scored(default_script, "verbatim_02_pipedrive_wholesale.txt")
    assert call_start_utc(record, load_zone("Europe/Kyiv")) == dt.datetime(2026, 11, 27, 8, 31, 2)
    assert call_start_utc(record.model_copy(update={"time": None}), load_zone("UTC")) is None
    with pytest.raises(CrmError, match="not a time zone name"):
        load_zone("Mars/Olympus")


# -- call-log outcome --------------------------------------------------------------------------------------

@pytest.mark.parametrize("call, outcome", [
    ("verbatim_01_dental_site.txt", "connected"),
    ("no_stage_01_wrong_number.txt", "wrong_number"),
    ("not_connected_06_voicemail_no_message.txt", "no_answer"),
    ("not_connected_01_unavailable.txt", "no_answer"),
    ("К: Абонент не может ответить, оставьте сообщение после сигнала.\n"
     "М: Добрый день, это Марина из компании Смарт Мейкер, перезвоните мне, пожалуйста, по вашей заявке на сайт.\n",
     "left_voicemail"),
])
def test_call_log_outcome_from_the_analysis(default_script, call, outcome):
    record = _scored(default_script, call)
    assert call_outcome(record.result, record.transcript) == outcome


# -- the note ------------------------------------------------------------------------------------------------

def test_summary_quotes_the_answers_from_the_evidence(default_script):
    record = _scored(default_script, "verbatim_02_pipedrive_wholesale.txt")
    assert record.transcript is not None
    lines = {line.key: [(q.speaker, q.text) for q in line.quotes]
             for line in summarise(record.result, record.transcript.segments)}
    assert lines["payment"][0] == ("client", "Если предложение подойдёт — в этом месяце.")
    assert lines["next_step"] == [
        ("manager", "Я вышлю вам реквизиты для оплаты вместе с предложением, а в четверг перезвоню, обсудим детали."),
        ("client", "Договорились, в четверг после обеда.")]
    assert lines["request"][0][1].startswith("Да, было дело. У нас оптовая торговля стройматериалами")
    assert "cannot_deliver" not in lines and "future" not in lines


def test_note_escapes_what_was_said_and_follows_the_language(default_script):
    text = ("М: Добрый день, Анна! Меня зовут Олег, компания Смарт. Вам удобно сейчас говорить?\n"
            "К: Да.\n"
            "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\n"
            "К: <script>alert('x')</script> & сайт для «Ромашки», чтобы заявки шли в CRM.\n")
    record = _scored(default_script, text)
    ru = render_note(record)
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; сайт" in ru and "<script>" not in ru
    assert "Запрос клиента" in ru and "Пропущены обязательные этапы" in ru
    en = render_note(record, "en")
    assert "Client&#x27;s request" in en and "Required stages missed" in en
    assert not any(word in en for word in ("Оценка", "Кратко", "Запрос", "коридор", "Пропущены"))
    assert content_hash(ru) == content_hash(render_note(record)) != content_hash(en)


def test_a_call_that_did_not_connect_gets_a_short_note(default_script):
    note = render_note(_scored(default_script, "no_stage_01_wrong_number.txt"))
    assert "Звонок не состоялся" in note and "ошиблись номером" in note and "Кратко" not in note


# -- roster --------------------------------------------------------------------------------------------------

def test_roster_takes_a_pipedrive_user_id_and_rejects_a_bad_one(tmp_path):
    good = tmp_path / "team.yaml"
    good.write_text("managers:\n  ivanova: {name: Иванова, pipedrive_user_id: 123}\n  petrov: {}\n", encoding="utf-8")
    team = load_team(good)
    assert team.managers["ivanova"].pipedrive_user_id == 123 and team.managers["petrov"].pipedrive_user_id is None
    for bad in ('"123"', "-4", "ivanova@example.com"):
        path = tmp_path / "bad.yaml"
        path.write_text(f"managers:\n  ivanova: {{pipedrive_user_id: {bad}}}\n", encoding="utf-8")
        with pytest.raises(TeamError, match="managers.ivanova.pipedrive_user_id"):
            load_team(path)


# -- the client against the fake server ------------------------------------------------------------------------

@pytest.fixture
def server():
    fake = FakePipedrive("tok").start()
    try:
        fake.state.users = [{"id": i, "name": f"U{i}", "active_flag": True} for i in range(1, 8)]
        yield fake
    finally:
        fake.stop()


def test_client_waits_as_the_rate_limit_headers_say(server):
    waits: list[float] = []
    server.state.retry_after = "7"
    server.state.fail_next = [429, 429]
    with PipedriveClient(server.url, "tok", sleep=waits.append) as client:
        assert [u["id"] for u in client.paginate("/users")] == list(range(1, 8))
    assert waits == [7.0, 7.0] and client.requests == 3


def test_client_retries_server_errors_with_backoff_then_gives_up(server):
    waits: list[float] = []
    server.state.fail_next = [500, 502, 503, 504, 500]
    policy = RetryPolicy(server_errors=3, backoff=0.5)
    with PipedriveClient(server.url, "tok", retry=policy, sleep=waits.append) as client:
        with pytest.raises(CrmError, match="Pipedrive answered 504 on GET /v1/users 4 times") as err:
            client.get("/users")
        assert err.value.fatal and waits == [0.5, 1.0, 2.0]
        assert client.get("/users")  # the fifth answer was the last error queued: then it works again
    assert len(server.state.requests) == 6


def test_client_names_an_unreachable_server(server):
    url = server.url
    server.stop()
    with PipedriveClient(url, "tok", retry=RetryPolicy(server_errors=1, backoff=0), sleep=lambda s: None) as client:
        with pytest.raises(CrmError, match=f"Pipedrive at {url} cannot be reached .* after 2 tries"):
            client.get("/users")


def test_client_stops_at_a_missing_permission(server):
    server.state.fail_next = [403]
    with PipedriveClient(server.url, "tok", sleep=lambda s: None) as client:
        with pytest.raises(CrmError, match=r"Pipedrive: no permission for POST /v1/callLogs \(403\): “You do not "
                                           r"have permission”; see the README") as err:
            client.post("/callLogs", {"outcome": "connected"})
    assert err.value.fatal and len(server.state.requests) == 1
