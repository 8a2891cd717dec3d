"""Hostile chat exports (issue 22, point 6): a WhatsApp line that only looks like a header, a Telegram date out of
range, Telegram's time-zone offsets, invisible characters in a sender's name."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from compliance.batch.run import BatchOptions, run_batch
from compliance.chats import chat_with_sides, read_chats
from compliance.chats.whatsapp import parse_whatsapp
from compliance.cli import cli
from compliance.errors import TranscriptError
from compliance.history.store import Store

from .conftest import FIXTURES

CHATS = FIXTURES / "chats"
OLGA = "Ольга Петрова"


@pytest.mark.parametrize("continuation", [
    "2015-03-01, 09:00 договор от того года",
    "2015-03-01, 09:00 - Пётр: так было в договоре",
    "[2015-03-01, 09:00] цитата из старого письма",
])
def test_a_whatsapp_continuation_starting_with_an_iso_date_does_not_redate_the_chat(continuation):
    text = ("02.01.25, 10:00 - Анна: Здравствуйте, пишу по заказу\n"
            f"{continuation}\n"
            "ещё строка того же сообщения\n"
            "02.01.25, 10:05 - Ольга: Добрый день!\n"
            "13.01.25, 09:00 - Анна: Спасибо\n")
    chat = parse_whatsapp(text, "chat.txt", "chat")
    assert [(m.sender, m.at.isoformat()) for m in chat.messages] == [
        ("Анна", "2025-01-02T10:00:00"), ("Ольга", "2025-01-02T10:05:00"), ("Анна", "2025-01-13T09:00:00")]
    assert continuation in chat.messages[0].text and "ещё строка" in chat.messages[0].text


def _export_with_bad_date(tmp_path, stamp: object):
    data = json.loads((CHATS / "telegram_export.json").read_text(encoding="utf-8"))
    message = data["chats"]["list"][1]["messages"][2]
    message.pop("date", None)
    message["date_unixtime"] = stamp
    bad = tmp_path / "result.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return bad, message["id"]


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("stamp", ["99999999999999999999", 10 ** 30, "253402300800"])
def test_a_telegram_date_out_of_range_names_chat_and_message(tmp_path, stamp):
    bad, number = _export_with_bad_date(tmp_path, stamp)
    with pytest.raises(TranscriptError, match=rf"result\.json: chat 2 «Игорь Кравец»: message {number}: "
                                              r"date_unixtime .* is out of range"):
        read_chats(bad)
    res = CliRunner().invoke(cli, ["--lang", "en", "score", str(bad), str(CHATS / "chat_marked.txt")])
    assert res.exit_code == 1 and "Traceback" not in res.output and not isinstance(res.exception, OverflowError)
    errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and f"message {number}" in errors[0]
    assert "chat_marked.txt" in res.output                              # the other file was scored


@pytest.mark.usefixtures("english")
def test_a_batch_scores_the_other_files_when_a_telegram_date_is_out_of_range(tmp_path):
    day = tmp_path / "in" / "petrova" / "2025-01-02"
    day.mkdir(parents=True)
    bad, number = _export_with_bad_date(tmp_path, "99999999999999999999")
    shutil.copy(bad, day / "result.json")
    shutil.copy(CHATS / "chat_marked.txt", day / "chat_marked.txt")
    summary = run_batch(BatchOptions(folder=tmp_path / "in", db=tmp_path / "h.db", workers=1))
    assert summary.analysed == 1
    with Store(tmp_path / "h.db") as store:
        failures = store.failures()
    assert len(failures) == 1 and f"message {number}" in failures[0].reason


def _telegram(messages: list[dict]) -> dict:
    return {"name": "Анна", "type": "personal_chat", "id": 7, "messages": [
        {"id": i, "type": "message", "from": who, "text": text, **when}
        for i, (who, text, when) in enumerate(messages, 1)]}


@pytest.mark.parametrize("client_at, manager_at", [
    # autumn: the clocks go back between the client's message and the answer three minutes later
    ({"date": "2025-10-26T03:58:00+03:00"}, {"date": "2025-10-26T03:01:00+02:00"}),
    ({"date": "2025-10-26T03:58:00", "date_unixtime": "1761440280"},
     {"date": "2025-10-26T03:01:00", "date_unixtime": "1761440460"}),
])
def test_telegram_time_zone_offsets_are_kept(tmp_path, client_at, manager_at):
    path = tmp_path / "result.json"
    path.write_text(json.dumps(_telegram([("Анна", "Здравствуйте, сколько стоит?", client_at),
                                          (OLGA, "Добрый день! Меня зовут Ольга.", manager_at)]),
                               ensure_ascii=False), encoding="utf-8")
    chat = read_chats(path)[0]
    assert chat.messages[0].at.isoformat() == "2025-10-26T03:58:00"         # the chat keeps its own clock
    transcript = chat_with_sides(chat, [OLGA])
    assert transcript.chat.first_response == 180.0
    assert all(b.start >= a.start for a, b in zip(transcript.segments, transcript.segments[1:]))


@pytest.mark.parametrize("hidden", ["\u200b", "\u200d", "\u2060", "\ufeff", "\u200e", "\u00ad"])
def test_invisible_characters_in_a_sender_name_do_not_defeat_the_manager_name(tmp_path, hidden):
    path = tmp_path / "result.json"
    olga = "Ольга" + hidden + " Пет" + hidden + "рова"
    path.write_text(json.dumps(_telegram([("Анна", "Здравствуйте", {"date": "2025-01-02T10:00:00"}),
                                          (olga, "Добрый день! Меня зовут Ольга.", {"date": "2025-01-02T10:02:00"})]),
                               ensure_ascii=False), encoding="utf-8")
    transcript = chat_with_sides(read_chats(path)[0], [OLGA])
    assert [s.speaker for s in transcript.segments] == ["client", "manager"] and not transcript.messages
    res = CliRunner().invoke(cli, ["score", str(path), "--manager-name", OLGA, "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["messages"] == []                           # named, not guessed
