"""A push against a Pipedrive that loses answers, resets connections, never ends its pages, answers with a web
page, a redirect, ``data: null``, a nonsense or huge ``Retry-After``, a trickle or a flood (issue 22, points 1–2).

Every case: exactly one note per call however many runs and faults, a one-line error naming the request and what
to do, bounded time and memory, and the push goes on with the next call. All against the fake on 127.0.0.1.
"""
from __future__ import annotations

import random
import time
import tracemalloc

import pytest

from compliance.crm.pipedrive import PipedriveClient, RetryPolicy
from compliance.errors import CrmError

from . import test_pipedrive as pd
from .fake_pipedrive import FakePipedrive
from .test_pipedrive import _notes_by_deal_or_person, _push, _pushed

built_history, history, fake = pd.built_history, pd.history, pd.fake     # the end-to-end tests' fixtures

FAST = RetryPolicy(backoff=0.0, timeout=2.0)


def _one_note_per_call(db, fake: FakePipedrive) -> None:
    """Pipedrive holds one note per pushed call, and the ledger names exactly those notes."""
    rows = _pushed(db)
    assert len(rows) == 3 and all(r["note_id"] for r in rows), [dict(r) for r in rows]
    assert sorted(r["note_id"] for r in rows) == sorted(fake.state.notes)
    assert set(_notes_by_deal_or_person(fake)) == {"deal 101", "deal 301", "person 203"}


# -- point 1: a note is made once, whatever the network does -----------------------------------------------

@pytest.mark.parametrize("fault", ["lost", "reset", "null_data", "huge"])
def test_a_note_whose_answer_is_lost_is_found_not_posted_again(history, fake, fault):
    db, team = history
    fake.state.huge_bytes = 30_000_000          # over the 20 MB cap: cut short, so as good as lost
    fake.state.faults = [("POST /v1/notes", fault)] * 3       # every call's first POST loses its answer
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    _one_note_per_call(db, fake)
    assert fake.state.count("POST", "/v1/notes") == 3          # looked up, not posted again
    assert "заметок создано 3" in result.output
    again = _push(db, team)
    assert again.exit_code == 0 and "без изменений 3" in again.output
    _one_note_per_call(db, fake)


def test_a_push_stopped_after_a_lost_answer_finds_the_note_on_the_next_run(history, fake):
    db, team = history
    # The first note's answer is lost, then Pipedrive goes down: the push stops with the intent recorded.
    fake.state.faults = [("POST /v1/notes", "lost")] + [("GET /v1/notes", "reset_before")] * 8 + \
        [("POST /v1/notes", "reset_before")] * 8
    first = _push(db, team)
    assert first.exit_code != 0 and "Traceback" not in first.output
    assert len(fake.state.notes) >= 1
    assert any(r["note_id"] is None for r in _pushed(db)) or len(_pushed(db)) == len(fake.state.notes)
    fake.state.faults = []
    for _ in range(3):
        assert _push(db, team).exit_code == 0
    _one_note_per_call(db, fake)


def test_notes_stay_one_per_call_after_many_runs_with_random_faults(history, fake):
    db, team = history
    rng = random.Random(22)
    kinds = ["lost", "reset", "reset_before", "null_data", "html"]
    for _ in range(6):
        fake.state.faults = [(rng.choice(["POST /v1/notes", "GET /v1/notes", "GET /v1/persons", "GET /v1/callLogs"]),
                              rng.choice(kinds)) for _ in range(rng.randint(1, 6))]
        result = _push(db, team)
        assert "Traceback" not in result.output and result.exit_code in (0, 1, 3), result.output
        assert len(fake.state.notes) <= 3
    fake.state.faults = []
    assert _push(db, team).exit_code == 0
    _one_note_per_call(db, fake)


# -- point 2: every broken answer is bounded, named, and the push goes on --------------------------------------

def test_a_broken_answer_for_one_call_is_listed_and_the_push_goes_on(history, fake):
    db, team = history
    fake.state.faults = [("GET /v1/persons/search", "html")]
    result = _push(db, team)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output and "JSONDecodeError" not in result.output
    failed = [line for line in result.output.splitlines() if "ошибка: " in line]
    assert len(failed) == 1 and "GET /v1/persons/search" in failed[0] and "не JSON" in failed[0]
    assert "заметок создано 2" in result.output and len(fake.state.notes) == 2
    assert _push(db, team).exit_code == 0
    _one_note_per_call(db, fake)


def test_notes_created_counts_only_notes_pipedrive_made(history, fake):
    db, team = history
    fake.state.faults = [("POST /v1/notes", "reset_before")] * 20      # never arrive: nothing made
    result = _push(db, team)
    assert result.exit_code == 3, result.output
    assert "заметок создано 0" in result.output and not fake.state.notes
    assert result.output.count("3 раз нет ясного ответа от Pipedrive, и заметки с меткой cc-") == 3
    fake.state.faults = [("POST /v1/notes", "html")] * 20              # made, answered with a web page: found
    result = _push(db, team)
    assert result.exit_code == 0, result.output
    assert "заметок создано 3" in result.output
    _one_note_per_call(db, fake)


def test_a_redirect_stops_the_push_with_what_to_check(history, fake):
    db, team = history
    fake.state.faults = [("GET /v1/callLogs", "redirect")]
    result = _push(db, team)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Ошибка: Pipedrive перенаправил GET /v1/callLogs (302) на https://login.example.com/?next=/v1: проверьте "
        "--api-url (например, https://COMPANY.pipedrive.com)"]


def test_endless_pages_of_call_logs_fail_the_calls_not_the_run(history, fake):
    db, team = history
    fake.state.pages = "repeat"
    began = time.monotonic()
    result = _push(db, team)
    assert time.monotonic() - began < 20 and "Traceback" not in result.output
    assert result.exit_code == 3, result.output
    assert "GET /v1/callLogs" in result.output and "повторяет страницу" in result.output
    assert fake.state.count("GET", "/v1/callLogs") <= 3            # read once, not once per call


@pytest.fixture
def server():
    company = FakePipedrive("tok").start()
    try:
        company.state.users = [{"id": i, "name": f"U{i}", "active_flag": True} for i in range(1, 8)]
        yield company
    finally:
        company.stop()


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("pages", ["endless", "repeat"])
def test_pagination_that_never_ends_is_capped(server, pages):
    server.state.pages, server.state.page_size = pages, 2
    with PipedriveClient(server.url, "tok", retry=RetryPolicy(max_pages=30)) as client:
        with pytest.raises(CrmError, match=r"GET /v1/users: Pipedrive (keeps saying there are more items after 30 "
                                           r"pages|repeats a page)") as err:
            list(client.paginate("/users"))
    assert not err.value.fatal and len(server.state.requests) <= 30


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("fault, says", [
    ("html", r"Pipedrive answered GET /v1/users \(200\) with text/html, not JSON: check --api-url"),
    ("null_data", None),
])
def test_a_non_json_or_empty_answer_is_a_clear_error(server, fault, says):
    server.state.faults = [("GET /v1/users", fault)] * 2
    with PipedriveClient(server.url, "tok", retry=FAST) as client:
        if says:
            with pytest.raises(CrmError, match=says):
                client.get("/users")
            with pytest.raises(CrmError, match=says):
                list(client.paginate("/users"))
        else:
            assert client.get("/users") is None and list(client.paginate("/users")) == []


@pytest.mark.parametrize("header, waits", [("nan", [1.0, 2.0]), ("soon", [1.0, 2.0]), ("inf", [1.0, 2.0]),
                                           ("-5", [0.0, 0.0]), ("Wed, 21 Oct 2015 07:28:00 GMT", [0.0, 0.0])])
def test_a_nonsense_retry_after_falls_back_to_backoff(server, header, waits):
    slept: list[float] = []
    server.state.retry_after, server.state.fail_next = header, [429, 429]
    with PipedriveClient(server.url, "tok", sleep=slept.append) as client:
        assert client.get("/users")
    assert slept == waits


@pytest.mark.usefixtures("english")
def test_a_huge_retry_after_gives_up_at_once_with_what_to_do(server):
    slept: list[float] = []
    server.state.retry_after, server.state.fail_next = "999999", [429]
    with PipedriveClient(server.url, "tok", sleep=slept.append) as client:
        with pytest.raises(CrmError, match=r"Pipedrive asks to wait 999999 s \(rate limit\) before GET /v1/users; "
                                           r"try again later"):
            client.get("/users")
    assert slept == []


@pytest.mark.usefixtures("english")
def test_retry_waits_add_up_to_the_deadline_at_most(server):
    slept: list[float] = []
    server.state.retry_after, server.state.fail_next = "50", [429] * 6
    policy = RetryPolicy(deadline=120.0, max_wait=60.0)
    with PipedriveClient(server.url, "tok", retry=policy, sleep=slept.append) as client:
        with pytest.raises(CrmError, match=r"GET /v1/users: no answer within 120 s"):
            client.get("/users")
    assert sum(slept) <= 120.0 and slept == [50.0, 50.0]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("fault", ["trickle", "trickle_head"])
def test_a_trickling_answer_is_cut_at_the_deadline(server, fault):
    server.state.faults = [("GET /v1/users", fault)]
    began = time.monotonic()
    with PipedriveClient(server.url, "tok", retry=RetryPolicy(deadline=1.5, timeout=1.0)) as client:
        with pytest.raises(CrmError, match=r"GET /v1/users: no answer within 1.5 s") as err:
            client.get("/users")
    assert time.monotonic() - began < 4 and not err.value.fatal


@pytest.mark.usefixtures("english")
def test_a_huge_answer_is_refused_in_bounded_memory(server):
    server.state.faults = [("GET /v1/users", "huge")]
    tracemalloc.start()
    try:
        with PipedriveClient(server.url, "tok", retry=RetryPolicy(max_bytes=2_000_000)) as client:
            with pytest.raises(CrmError, match=r"GET /v1/users: Pipedrive's answer is over 2 MB"):
                client.get("/users")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 12_000_000, peak
    assert server.state.sent_bytes < 20_000_000           # the client hung up; the 50 MB were never read


def test_a_call_log_whose_answer_is_lost_is_not_made_twice(history, fake):
    db, team = history
    fake.state.faults = [("POST /v1/callLogs", "lost")] * 2
    first = _push(db, team, "--create-call-logs")
    assert first.exit_code == 3 and "Traceback" not in first.output
    assert first.output.count("POST /v1/callLogs: ответ потерян") == 2
    for _ in range(2):
        assert _push(db, team, "--create-call-logs").exit_code == 0
    made = [log for key, log in fake.state.call_logs.items() if key not in ("a0", "a1")]
    assert len(made) == 2 and fake.state.count("POST", "/v1/callLogs") == 2     # found by number and time
    _one_note_per_call(db, fake)
