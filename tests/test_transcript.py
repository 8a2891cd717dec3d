"""Transcript sources: text with speaker prefixes, JSON."""
from __future__ import annotations

import json

import pytest

from compliance.errors import TranscriptError
from compliance.scoring.transcript import load_transcript, parse_text_transcript


def test_text_prefixes_and_continuations():
    t = parse_text_transcript(
        "М: Добрый день!\nКлиент: Здравствуйте.\nпродолжение клиента\nmanager: hi\nК: ну\nМенеджер: да\n"
        "client: ok\n[01:05] М: со временем\n"
    )
    assert [s.speaker for s in t.segments] == ["manager", "client", "manager", "client", "manager", "client", "manager"]
    assert t.segments[1].text == "Здравствуйте. продолжение клиента"
    assert t.segments[-1].start == 65.0
    assert t.speakers_known


def test_text_without_prefixes_is_unknown_speaker():
    t = parse_text_transcript("Добрый день\nвам удобно говорить\n")
    assert [s.speaker for s in t.segments] == ["unknown"]
    assert not t.speakers_known


def test_json_transcript(tmp_path):
    path = tmp_path / "call.json"
    path.write_text(json.dumps({"segments": [
        {"start": 0.0, "end": 2.1, "speaker": "manager", "text": "Добрый день",
         "words": [{"word": "Добрый", "start": 0.0, "end": 0.5, "probability": 0.9}]},
    ]}, ensure_ascii=False), encoding="utf-8")
    t = load_transcript(path)
    assert t.segments[0].words[0].probability == 0.9
    assert t.source == str(path)


@pytest.mark.usefixtures("english")
@pytest.mark.parametrize("content, message", [
    (b"{not json", "invalid JSON"),
    (b'{"segments": [{"speaker": "boss", "text": "x"}]}', "segments.0.speaker"),
    (b'[1, 2]', "(top level)"),
    (b"\xff\xfe\x00bad", "not UTF-8"),
])
def test_bad_transcripts_name_the_file(tmp_path, content, message):
    path = tmp_path / ("t.json" if content[:1] in b"{[" else "t.txt")
    path.write_bytes(content)
    with pytest.raises(TranscriptError) as err:
        load_transcript(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)
