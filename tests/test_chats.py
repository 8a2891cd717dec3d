"""Chats (issue 12, points 1–3): Telegram and WhatsApp exports and dated М:/К: text read, their manager's side
found, scored against the chat script like a call, stored by a batch as kind chat and counted as contacts."""
from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from click.testing import CliRunner

from compliance.batch.run import BatchOptions, run_batch
from compliance.chats import chat_with_sides, read_chats
from compliance.chats.whatsapp import parse_whatsapp
from compliance.cli import cli
from compliance.errors import TeamError, TranscriptError
from compliance.history.daily import daily_report
from compliance.history.roster import load_team
from compliance.history.store import Store
from compliance.messages import Message
from compliance.pipeline import file_kind
from compliance.resources import default_script_path
from compliance.scoring.script_file import load_script

from .conftest import FIXTURES

CHATS = FIXTURES / "chats"
OLGA = "Ольга Петрова"


@pytest.fixture(scope="module")
def chat_script():
    return load_script(default_script_path("chat"))


# -- readers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, fmt, chats, messages, senders, first", [
    ("telegram_single.json", "telegram", 1, 16, ["Анна Смирнова", OLGA], "2025-01-02T09:58:12"),
    ("telegram_export.json", "telegram", 3, 16, ["Анна Смирнова", OLGA], "2025-01-02T09:58:12"),
    ("whatsapp_android.txt", "whatsapp", 1, 14, ["Дмитрий Коваль", OLGA], "2025-01-02T09:41:00"),
    ("whatsapp_ios.txt", "whatsapp", 1, 12, ["Марина Лысенко", OLGA], "2025-01-02T14:00:12"),
    ("chat_marked.txt", "text", 1, 8, ["К", "М"], "2025-01-02T16:00:00"),
])
def test_readers(name, fmt, chats, messages, senders, first):
    found = read_chats(CHATS / name)
    assert file_kind(CHATS / name) == "chat"
    assert len(found) == chats and found[0].fmt == fmt
    assert len(found[0].messages) == messages and found[0].senders == senders
    assert found[0].messages[0].at.isoformat() == first


def test_telegram_entities_media_and_service_messages():
    chat = read_chats(CHATS / "telegram_single.json")[0]
    texts = [m.shown for m in chat.messages]
    # text given as a list of strings and entities is one text; a photo without text is a placeholder
    assert "Подскажите, пожалуйста, какую задачу вы хотите решить? Сколько у вас складов и сотрудников?" in texts
    assert "[photo]" in texts
    assert not any("phone_call" in t for t in texts)  # a service message is not part of the conversation
    export = read_chats(CHATS / "telegram_export.json")
    assert [c.key for c in export] == ["tg7771234", "tg8880042", "tg9990777"] and all(c.several for c in export)
    assert "[voice message]" in [m.shown for m in export[2].messages]


def test_whatsapp_multiline_media_and_system_lines():
    android = read_chats(CHATS / "whatsapp_android.txt")[0]
    assert android.messages[1].shown == "[media omitted]"
    assert android.messages[3].text == "Расскажите, что именно вам нужно?\nКакой у вас бизнес и сколько точек?"
    assert android.messages[-2].shown == "[file: IMG-20250102-WA0003.jpg]"
    assert not any("шифрованием" in m.text for m in android.messages)
    ios = read_chats(CHATS / "whatsapp_ios.txt")[0]
    assert not any("шифрованием" in m.text for m in ios.messages)  # iOS writes the notice as a message
    assert ios.messages[3].text.endswith("\nОдна точка, открываемся через две недели.")
    assert ios.messages[4].shown == "[media omitted]"


@pytest.mark.parametrize("text, first, second", [
    ("1/2/25, 10:00 AM - Anna: Hi\n1/13/25, 1:05\u202fPM - Olga: Hello\n", (2025, 1, 2, 10, 0), (2025, 1, 13, 13, 5)),
    ("13/01/2025, 09:00 - Anna: Hi\n14/01/2025, 12:30 - Olga: Hello\n", (2025, 1, 13, 9, 0), (2025, 1, 14, 12, 30)),
    ("[02.01.25, 10:00:00] Anna: Hi\n[02.01.25, 12:00:01] Olga: Hello\n", (2025, 1, 2, 10, 0), (2025, 1, 2, 12, 0)),
    ("2025-01-02, 10:00 - Anna: Hi\n2025-01-03, 10:00 - Olga: Hello\n", (2025, 1, 2, 10, 0), (2025, 1, 3, 10, 0)),
])
def test_whatsapp_date_orders(text, first, second):
    chat = parse_whatsapp(text, "chat.txt", "chat")
    assert [m.at.timetuple()[:5] for m in chat.messages] == [first, second]


@pytest.mark.parametrize("name, says", [
    ("telegram_broken.json", "ошибка в JSON"),
    ("telegram_empty.json", "в чате нет сообщений"),
    ("whatsapp_bad_date.txt", "строка 1: непонятная дата «45.13.25»"),
])
def test_hostile_files_are_one_clear_line(name, says, tmp_path):
    with pytest.raises(TranscriptError) as err:
        read_chats(CHATS / name)
    assert str(err.value).startswith(str(CHATS / name)) and says in str(err.value) and "\n" not in str(err.value)
    res = CliRunner().invoke(cli, ["score", str(CHATS / name), str(CHATS / "chat_marked.txt")])
    assert res.exit_code == 1
    errors = [line for line in res.output.splitlines() if line.startswith("Ошибка:")]
    assert len(errors) == 1 and name in errors[0] and says in errors[0]
    assert "chat_marked.txt" in res.output  # the other file was still scored


@pytest.mark.usefixtures("english")
def test_telegram_date_in_no_known_format_names_the_message(tmp_path):
    data = json.loads((CHATS / "telegram_single.json").read_text(encoding="utf-8"))
    data["messages"][2]["date"], data["messages"][2]["date_unixtime"] = "02/01/2025 10:04", "soon"
    bad = tmp_path / "result.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(TranscriptError, match=r"result\.json: chat 1 «Анна Смирнова»: message 103: unknown date format '02/01/2025 10:04'"):
        read_chats(bad)


def test_a_call_transcript_is_not_a_chat():
    assert file_kind(FIXTURES / "calls" / "asr_01_coding_school.txt") == "transcript"
    assert file_kind(FIXTURES / "calls" / "asr_04_building_store.json") == "transcript"


# -- sides and metrics ------------------------------------------------------------------------------


def test_side_from_names_option_or_guessed(chat_script):
    chat = read_chats(CHATS / "whatsapp_android.txt")[0]
    named = chat_with_sides(chat, ["ольга  петрова"])  # case, ё and spaces do not matter
    assert {s.speaker for s in named.segments if s.text.startswith("Добрый день, Дмитрий")} == {"manager"}
    assert not named.messages
    wrong = chat_with_sides(chat, ["Дмитрий Коваль"])  # a name decides even against the script
    assert wrong.segments[0].speaker == "manager"
    guessed = chat_with_sides(chat, [], chat_script)
    assert [s.speaker for s in guessed.segments] == [s.speaker for s in named.segments]
    assert [m.code for m in guessed.messages] == ["chat_side_guessed"]
    assert guessed.messages[0].params["name"] == OLGA
    english = guessed.messages[0].text("en")
    assert "guessed" in english and not any("а" <= ch <= "я" for ch in english.replace(OLGA.lower(), "")
                                            .replace(OLGA, "").lower())


def test_marked_sides_are_kept_not_guessed(chat_script):
    transcript = chat_with_sides(read_chats(CHATS / "chat_marked.txt")[0], [], chat_script)
    assert not transcript.messages and transcript.segments[0].speaker == "client"


@pytest.mark.usefixtures("english")
def test_roster_chat_names(tmp_path):
    team = tmp_path / "team.yaml"
    team.write_text('managers:\n  petrova:\n    name: "Петрова Ольга"\n    chat_names: ["Ольга Петрова", "Оля | СкладПро"]\n'
                    '  ivanova:\n    chat_names: ["Мария"]\n', encoding="utf-8")
    roster = load_team(team)
    assert roster.chat_names() == ["Ольга Петрова", "Оля | СкладПро", "Мария"]
    assert roster.by_chat_name(["Клиент", "ОЛЬГА петрова"]).id == "petrova"
    team.write_text('managers:\n  a:\n    chat_names: ["Ольга"]\n  b:\n    chat_names: ["ольга"]\n', encoding="utf-8")
    with pytest.raises(TeamError, match="chat name 'ольга' is given to both a and b"):
        load_team(team)
    team.write_text('managers:\n  a:\n    chat_names: ["  "]\n', encoding="utf-8")
    with pytest.raises(TeamError, match=r"managers\.a\.chat_names: .*empty chat name"):
        load_team(team)


def test_first_response_and_longest_wait():
    ios = chat_with_sides(read_chats(CHATS / "whatsapp_ios.txt")[0], [OLGA])
    # Марина wrote 14:00:12, Ольга answered 14:02:30; Марина's doubt 14:40:00 waited until 15:20:00
    assert ios.chat.first_response == 138 and ios.chat.longest_wait == 2400
    assert (ios.chat.manager_messages, ios.chat.client_messages, ios.chat.unanswered) == (7, 5, False)
    outbound = chat_with_sides(read_chats(CHATS / "telegram_export.json")[1], [OLGA])
    assert outbound.chat.first_response is None and outbound.chat.longest_wait is None  # the manager wrote first


# -- scoring ----------------------------------------------------------------------------------------


def test_score_a_chat_end_to_end():
    res = CliRunner().invoke(cli, ["score", str(CHATS / "telegram_single.json"), "--manager-name", OLGA, "--json"])
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert (result["channel"], result["script_id"], result["connected"]) == ("chat", "chat_sales", True)
    assert result["chat"]["first_response"] == 328.0 and result["chat"]["started"] == "2025-01-02T09:58:12"
    assert not result["messages"]  # the side was named, not guessed
    price = next(s for s in result["stages"] if s["id"] == "price")
    line = price["lines"][0]
    # evidence points to the message (turn 8: the price) and its time from the chat's start (10:18:55)
    assert price["present"] and line["span"]["turn_end"] in (None, 8) and line["end"] is not None
    assert (dt.datetime(2025, 1, 2, 9, 58, 12) + dt.timedelta(seconds=line["span"]["start"])).time() \
        <= dt.time(10, 18, 55)
    text = CliRunner().invoke(cli, ["score", str(CHATS / "telegram_single.json")]).output
    assert "первый ответ менеджера: 5 мин" in text and "@10:18" in text
    assert "Менеджер в переписке определён по скрипту: «Ольга Петрова»" in text


def test_a_whole_export_scores_each_chat_and_no_reply_is_not_connected():
    res = CliRunner().invoke(cli, ["score", str(CHATS / "telegram_export.json"), "--json"])
    assert res.exit_code == 0, res.output
    results = [json.loads(line) for line in res.output.splitlines()]
    assert [r["file"].rsplit("#", 1)[1] for r in results] == ["Анна Смирнова", "Игорь Кравец", "Виктория"]
    assert [r["connected"] for r in results] == [True, False, True]
    assert results[1]["not_connected"] == {"code": "chat_no_reply", "params": {}}
    assert Message(code="chat_no_reply").text("en") == "the client did not reply in the chat"


def test_score_takes_chat_names_from_the_roster(tmp_path):
    team = tmp_path / "team.yaml"
    team.write_text(f'managers:\n  petrova:\n    chat_names: ["{OLGA}"]\n', encoding="utf-8")
    res = CliRunner().invoke(cli, ["score", str(CHATS / "whatsapp_ios.txt"), "--team", str(team), "--json"])
    assert res.exit_code == 0 and json.loads(res.output)["messages"] == []


# -- batch and contacts -----------------------------------------------------------------------------


@pytest.mark.usefixtures("english")
def test_batch_mixes_chats_and_transcripts(tmp_path):
    day = tmp_path / "in" / "petrova" / "2025-01-02"
    day.mkdir(parents=True)
    for name in ("whatsapp_android.txt", "telegram_broken.json", "chat_marked.txt"):
        shutil.copy(CHATS / name, day / name)
    shutil.copy(CHATS / "telegram_export.json", day.parent / "result.json")
    shutil.copy(FIXTURES / "calls" / "asr_01_coding_school.txt", day / "call.txt")
    team = tmp_path / "team.yaml"
    team.write_text(f'managers:\n  petrova:\n    name: "Петрова Ольга"\n    chat_names: ["{OLGA}"]\n',
                    encoding="utf-8")
    db = tmp_path / "h.db"
    summary = run_batch(BatchOptions(folder=tmp_path / "in", db=db, team=team))
    assert (summary.analysed, summary.failed) == (6, 1)
    assert "telegram_broken.json" in summary.failures[0].file and "invalid JSON" in summary.failures[0].reason
    with Store(db) as store:
        records = {r.file.rsplit("/", 1)[1]: r for r in store.calls()}
        kinds = {name: store.call_meta(r.call_id).kind for name, r in records.items()}
        assert kinds == {"call.txt": "transcript", "whatsapp_android.txt": "chat", "chat_marked.txt": "chat",
                         "result.json#tg7771234": "chat", "result.json#tg8880042": "chat",
                         "result.json#tg9990777": "chat"}
        # a chat is dated by its first message, not by the folder
        assert (records["result.json#tg9990777"].date, records["result.json#tg9990777"].time) == \
            ("2025-01-03", "12:10:00")
        assert records["call.txt"].result.script_id == "sales_call"
        assert {records[n].result.script_id for n in kinds if n != "call.txt"} == {"chat_sales"}
        report = daily_report(store, "petrova", "2025-01-02")
        assert (report.calls, report.connected, report.chats, report.chats_replied, report.contacts) == (1, 1, 3, 3, 4)
        assert "✅Кол-во дозвонов – 1 шт.\n✅Кол-во переписок – 3 шт.\n✅Всего контактов – 4 из 40" in report.text()
    exported = json.loads(CliRunner().invoke(cli, ["export", "--format", "json", "--db", str(db)]).output)
    metrics = {row["file"].rsplit("/", 1)[1]: (row["channel"], row["first_response"], row["longest_wait"])
               for row in exported}
    assert metrics["whatsapp_android.txt"] == ("chat", 660.0, 660.0) and metrics["call.txt"] == ("call", None, None)
    _reports_show_chats(db, tmp_path)
    by_day = {k.date: k for k in summary.kpi}
    assert (by_day["2025-01-03"].chats, by_day["2025-01-03"].chats_replied, by_day["2025-01-03"].contacts) == (2, 1, 1)
    again = run_batch(BatchOptions(folder=tmp_path / "in", db=db, team=team))
    assert (again.analysed, again.rescored, again.skipped) == (0, 0, 6)


def test_daily_command_shows_chats_and_keeps_sales(tmp_path):
    (tmp_path / "in").mkdir()
    shutil.copy(CHATS / "whatsapp_ios.txt", tmp_path / "in" / "chat.txt")  # no manager, no date in its path:
    team = tmp_path / "team.yaml"                                           # the chat itself tells both
    team.write_text(f'managers:\n  petrova:\n    chat_names: ["{OLGA}"]\n', encoding="utf-8")
    db = tmp_path / "h.db"
    assert run_batch(BatchOptions(folder=tmp_path / "in", db=db, team=team)).analysed == 1
    runner = CliRunner()
    res = runner.invoke(cli, ["daily", "petrova", "--date", "2025-01-02", "--db", str(db), "--sales-sum", "900",
                              "--sales-count", "1"])
    assert res.exit_code == 0, res.output
    assert "✅Кол-во дозвонов – 0 шт.\n✅Кол-во переписок – 1 шт.\n✅Всего контактов – 1 из 40" in res.output
    again = runner.invoke(cli, ["daily", "petrova", "--date", "2025-01-02", "--db", str(db)])
    assert "✅Сумма продаж – 900 грн\n✅Кол-во продаж – 1 шт" in again.output  # kept from the first entry


def _reports_show_chats(db, tmp_path):
    from compliance.reports import write_reports

    with Store(db) as store:
        records = store.calls()
    for lang, section, split, heading in (("ru", "Переписка: скорость ответа", "звонки 0 · переписки 1", "Переписка "),
                                          ("en", "Chat: response times", "calls 0 · chats 1", "Chat on ")):
        out = tmp_path / f"reports-{lang}"
        write_reports(out, records, lang=lang, generated_at="now")
        assert split in (out / "index.html").read_text(encoding="utf-8")  # today (2025-01-03): one replied chat
        manager = (out / "managers" / "petrova" / "index.html").read_text(encoding="utf-8")
        assert ("Переписок с ответом клиента / всего" if lang == "ru" else "Chats the client replied in / all") in manager
        pages = [p.read_text(encoding="utf-8") for p in (out / "managers" / "petrova" / "calls").glob("*.html")]
        chat_pages = [p for p in pages if section in p]
        assert len(chat_pages) == 5 and all(f"<h1>{heading}" in p for p in chat_pages)
        assert any('class="ts" href="#t-2">09:52</a>' in p for p in chat_pages)  # a message's own time
        assert any('data-t="660.00">09:52</a>' in p for p in chat_pages)  # evidence: the same clock time
        said = "Переписка не состоялась" if lang == "ru" else "The chat did not become a conversation"
        assert sum(said in p for p in chat_pages) == 1  # the chat the client did not reply in


@pytest.mark.parametrize("offset, shown", [(0, "23:50"), (540, "23:59"), (1200, "03.01 00:10")])
def test_message_time_names_the_day_once_it_changes(offset, shown):
    from compliance.text.formats import message_time

    assert message_time("2025-01-02T23:50:00", offset) == shown


# -- a part of the manager's name: listed and asked, never guessed -----------------------------------------------
def _two_olgas(tmp_path):
    path = tmp_path / "result.json"
    data = json.loads((CHATS / "telegram_single.json").read_text(encoding="utf-8"))
    data["messages"].insert(1, {**data["messages"][0], "from": "Ольга Иванова", "text": "Я тоже тут"})
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_part_of_the_manager_name_lists_the_senders_it_fits_and_asks(tmp_path, monkeypatch):
    path = _two_olgas(tmp_path)
    res = CliRunner().invoke(cli, ["--lang", "en", "score", str(path), "--manager-name", "ольга", "--json"])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "'ольга' is not a sender's full name; did you mean: Ольга Иванова, Ольга Петрова?" in res.output
    res = CliRunner().invoke(cli, ["score", str(path), "--manager-name", "Петрова", "--json"])   # one fits: asked too
    assert res.exit_code == 1 and "возможно, вы имели в виду: Ольга Петрова?" in res.output  # Russian by default
    # at a terminal the matches are listed and the answer is used: named, not guessed
    import compliance.cli.options as options
    monkeypatch.setattr(options, "at_terminal", lambda: True)
    monkeypatch.setattr(options.click, "prompt", lambda *a, **k: 2)
    res = CliRunner().invoke(cli, ["score", str(path), "--manager-name", "ольга", "--json"])
    assert res.exit_code == 0, res.output
    assert "1. Ольга Иванова" in res.output and "2. Ольга Петрова" in res.output
    assert json.loads(res.output.splitlines()[-1])["messages"] == []


def test_a_manager_name_no_sender_has_is_an_error_that_lists_the_senders(tmp_path):
    res = CliRunner().invoke(cli, ["--lang", "en", "score", str(CHATS / "telegram_single.json"),
                                   "--manager-name", "Марина"])
    assert res.exit_code == 1
    assert "no sender of this chat is named 'Марина' (its senders: " in res.output and "Ольга Петрова" in res.output
