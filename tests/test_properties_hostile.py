"""Property-based fuzz (Hypothesis, issue 22) over the chat readers (Telegram, WhatsApp, dated text) and the script
loader: any input is read or refused with the project's own one-line error, never a traceback; a chat's dates
are never re-dated by what a message says; response times are never negative. Bounded to a few seconds each."""
from __future__ import annotations

import datetime as dt
import json

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.chats import chat_with_sides, read_chats
from compliance.chats.whatsapp import parse_whatsapp
from compliance.errors import ComplianceError, ScriptError
from compliance.scoring.script_file import check_script_file, load_script

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
line_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Zl", "Zp", "Cc"]), max_size=30)
invisible = st.sampled_from(["", "\u200b", "\u200e", "\u202f", "\ufeff", "\u00ad", "\u2060"])
any_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | line_text,
                        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(line_text, inner, max_size=3),
                        max_leaves=8)


def _read_or_refuse(path) -> list:
    try:
        chats = read_chats(path)
    except ComplianceError as exc:
        assert "\n" not in str(exc) and str(path.name) in str(exc)
        return []
    for chat in chats:
        transcript = chat_with_sides(chat, [chat.senders[0]] if chat.senders else [])
        metrics = transcript.chat
        assert metrics is not None
        assert metrics.first_response is None or metrics.first_response >= 0
        assert metrics.longest_wait is None or metrics.longest_wait >= 0
    return chats


# -- WhatsApp ------------------------------------------------------------------------------------------------

header = st.builds(lambda d, mo, y, h, mi, sep, name, text, zw: f"{d}{sep}{mo}{sep}{y}, {h}:{mi:02d} - {zw}{name}: {text}",
                   st.integers(0, 40), st.integers(0, 14), st.integers(0, 9999), st.integers(0, 30), st.integers(0, 70),
                   st.sampled_from([".", "/", "-"]), line_text, line_text, invisible)
wa_line = st.one_of(header, line_text, st.builds(lambda t: "[" + t, line_text),
                    st.builds(lambda y, t: f"{y}-03-01, 09:00 {t}", st.integers(0, 9999), line_text))


@SETTINGS
@given(st.lists(wa_line, min_size=1, max_size=12))
def test_any_whatsapp_like_text_is_read_or_refused_cleanly(tmp_path, lines):
    path = tmp_path / "chat.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    _read_or_refuse(path)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 400), st.sampled_from(["Анна", "Ольга Петрова"]), line_text,
                          st.lists(st.one_of(line_text.filter(lambda t: not t[:1].isdigit() and not t.startswith("[")),
                                             st.builds(lambda y, t: f"{y:04d}-03-01, 09:00 - Пётр: {t}",
                                                       st.integers(1, 9999), line_text)), max_size=2)),
                min_size=1, max_size=8))
def test_what_a_whatsapp_message_says_never_redates_the_chat(messages):
    start = dt.datetime(2025, 1, 2, 10, 0)
    lines, expected, minutes = [], [], 0
    for gap, name, text, continuation in messages:
        minutes += gap
        at = start + dt.timedelta(minutes=minutes)
        lines.append(f"{at:%d.%m.%y, %H:%M} - {name}: x{text}")
        lines.extend(continuation)
        expected.append(at)
    chat = parse_whatsapp("\n".join(lines), "chat.txt", "chat")
    assert [m.at for m in chat.messages] == expected


# -- Telegram ------------------------------------------------------------------------------------------------

dates = st.sampled_from([None, "soon", "2025-01-02T10:00:00", "2025-01-02T10:00:00+03:00", "9999-12-31T23:59:59-12:00",
                         "0001-01-01T00:00:00+14:00"]) | line_text | any_json
stamps = st.integers(0, 10 ** 25).map(str) | st.integers(10 ** 11, 10 ** 25) | st.integers(-10 ** 12, 10 ** 12) | any_json
tg_message = st.fixed_dictionaries({"id": any_json, "type": st.sampled_from(["message", "message", "service"]) | any_json,
                                    "from": any_json, "text": st.just("привет") | any_json, "date": dates,
                                    "date_unixtime": stamps})


@SETTINGS
@given(st.lists(tg_message, max_size=6), st.booleans())
def test_any_telegram_like_export_is_read_or_refused_cleanly(tmp_path, messages, whole):
    chat = {"name": "Анна", "type": "personal_chat", "id": 1, "messages": messages}
    data = {"about": "", "chats": {"list": [chat, chat]}} if whole else chat
    path = tmp_path / "result.json"
    path.write_text(json.dumps(data, ensure_ascii=False, allow_nan=True), encoding="utf-8")
    _read_or_refuse(path)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 4 * 3600), st.integers(-12 * 60, 14 * 60), st.booleans()),
                min_size=2, max_size=8))
def test_telegram_times_in_any_zones_never_answer_before_the_question(tmp_path, steps):
    """Messages sent in order, each written in its own offset (a trip, a change of clocks): their order holds."""
    instant = dt.datetime(2025, 10, 26, 0, 0, tzinfo=dt.timezone.utc)
    messages = []
    for i, (gap, offset, with_zone) in enumerate(steps):
        instant += dt.timedelta(seconds=gap)
        local = instant.astimezone(dt.timezone(dt.timedelta(minutes=offset)))
        when = ({"date": local.isoformat()} if with_zone else
                {"date": local.replace(tzinfo=None).isoformat(), "date_unixtime": str(int(instant.timestamp()))})
        messages.append({"id": i, "type": "message", "from": "Анна" if i % 2 == 0 else "Ольга", "text": "x", **when})
    path = tmp_path / "result.json"
    path.write_text(json.dumps({"name": "Анна", "type": "personal_chat", "id": 1, "messages": messages}),
                    encoding="utf-8")
    chat = read_chats(path)[0]
    times = [m.at for m in chat.messages]
    assert times == sorted(times)
    assert _read_or_refuse(path)


# -- dated М:/К: text ------------------------------------------------------------------------------------

stamp = st.builds(lambda a, b, c, h, m, s: f"{a}.{b}.{c} {h}:{m:02d}" + (f":{s:02d}" if s is not None else ""),
                  st.integers(0, 99), st.integers(0, 99), st.integers(0, 99999), st.integers(0, 99),
                  st.integers(0, 99), st.none() | st.integers(0, 99))
dated_line = st.one_of(st.builds(lambda s, who, t: f"[{s}] {who}: {t}", stamp, st.sampled_from(["М", "К", "Клиент",
                                                                                                   "Менеджер", "Х"]),
                                 line_text), line_text)


@SETTINGS
@given(st.lists(dated_line, min_size=1, max_size=10))
def test_any_dated_text_chat_is_read_or_refused_cleanly(tmp_path, lines):
    path = tmp_path / "chat.txt"
    path.write_text("[02.01.2025 10:00] К: Здравствуйте\n" + "\n".join(lines), encoding="utf-8")
    _read_or_refuse(path)


# -- the script loader: structured nonsense, not only random bytes -------------------------------------------

stage = st.fixed_dictionaries({"id": any_json | line_text, "lines": st.lists(any_json | line_text, max_size=3) | any_json},
                              optional={"title": any_json, "required": any_json, "weight": any_json,
                                        "excludes": any_json, "severity": any_json, "extra": any_json})
script = st.fixed_dictionaries({"id": any_json | line_text, "stages": st.lists(stage, max_size=3) | any_json},
                               optional={"title": any_json, "language": any_json, "forbidden": any_json,
                                         "levels": st.dictionaries(st.sampled_from(["newcomer", "experienced", "x"]),
                                                                   st.dictionaries(st.sampled_from(["min", "max"]),
                                                                                   any_json, max_size=2), max_size=2)
                                         | any_json})


@settings(SETTINGS, max_examples=60)
@given(script)
def test_any_script_like_yaml_gives_problems_or_a_script(tmp_path, data):
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    loaded, problems = check_script_file(path)
    assert (loaded is None) == bool(problems)
    assert all("\n" not in str(p) and str(p).startswith(str(path)) for p in problems)
    try:
        load_script(path)
    except ScriptError:
        assert problems
