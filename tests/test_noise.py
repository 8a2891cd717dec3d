"""Noisy rooms (issue 27): the quality rule, background voices kept apart, low-confidence evidence held for the lead.

Made-up transcripts and signals here; ``test_transcribe_real.py::test_noisy_call_real`` runs a spoken call with a
colleague's call mixed in through the real model.
"""
from __future__ import annotations

import numpy as np
import pytest

from compliance.history.readiness import assess_readiness
from compliance.reports.call_page import build_call_page
from compliance.reports.render import make_environment, render_call_page
from compliance.scoring.quality import ChannelQuality, RecognitionQuality, rate_call, rate_channel
from compliance.scoring.result import CallRecord, CallResult, Found, ReviewFlag, StageResult
from compliance.scoring.score import MatchOptions, score_call
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import Segment, Transcript, Word
from compliance.speech.assemble import assemble_transcript
from compliance.speech.cache import _Recognised
from compliance.speech.decode import SAMPLE_RATE
from compliance.speech.engine import TranscribeOptions
from compliance.speech.levels import loud_parts

from .conftest import ROOT

SCRIPT = load_script(ROOT / "scripts_yaml" / "sales_call.ru.yaml")
WORDS_ONLY = MatchOptions(meaning=False)

# Punctuated as the recogniser writes it: evidence is the manager's whole sentence.
GREETING = "Добрый день, Ольга! Меня зовут Иван, компания Смарт Мейкер. Вам удобно сейчас говорить?"
CLIENT = "Да здравствуйте слушаю вас нам нужен новый сайт для магазина примерно за месяц"
MANAGER_REST = ("Расскажите, пожалуйста, какую задачу вы хотите решить и какие сроки для вас важны? "
                "Мы можем это сделать. Когда вам было бы удобно оплатить? Давайте я пришлю счёт и перезвоню завтра. "
                "Спасибо за разговор, всего доброго, до свидания!")


@pytest.mark.parametrize("quality, rating", [
    (ChannelQuality(words=200, low_confidence=0.03, snr_db=40, avg_logprob=-0.2), "good"),
    (ChannelQuality(words=200, low_confidence=0.10, snr_db=40, avg_logprob=-0.3), "fair"),
    (ChannelQuality(words=200, low_confidence=0.03, snr_db=12, avg_logprob=-0.3), "fair"),
    (ChannelQuality(words=200, low_confidence=0.09, snr_db=14, avg_logprob=-0.3), "poor"),  # both: a noisy room
    (ChannelQuality(words=200, low_confidence=0.20, snr_db=30, avg_logprob=-0.4), "poor"),
    (ChannelQuality(words=200, low_confidence=0.05, snr_db=4, avg_logprob=-0.3), "poor"),
    (ChannelQuality(words=200, low_confidence=0.05, snr_db=30, avg_logprob=-0.95), "poor"),
    (ChannelQuality(words=0, snr_db=2), "good"),  # no words: a connection question, not a recognition one
])
def test_quality_rule(quality, rating):
    assert rate_channel(quality) == rating


def test_call_is_rated_by_the_managers_channel():
    channels = [ChannelQuality(speaker="manager", words=100, low_confidence=0.02, snr_db=40),
                ChannelQuality(speaker="client", words=100, low_confidence=0.4, snr_db=40)]
    assert rate_call(channels).rating == "good"
    channels[0].low_confidence = 0.3
    assert rate_call(channels).rating == "poor"
    assert rate_call([ChannelQuality(words=50, low_confidence=0.3)]).rating == "poor"  # mono: the only channel


def _words(text: str, start: float, level: float, probability: float = 0.95, step: float = 0.4) -> list[Word]:
    return [Word(word=w, start=round(start + i * step, 2), end=round(start + i * step + 0.3, 2),
                 probability=probability, level=level) for i, w in enumerate(text.split())]


def _segments(words: list[Word]) -> list[Segment]:
    return [Segment(text=" ".join(w.word for w in words), start=words[0].start, end=words[-1].end, words=words)]


def _recognised(manager: list[Word], client: list[Word], manager_db: float = -20.0) -> _Recognised:
    quality = [ChannelQuality(words=len(manager), speech_db=manager_db, snr_db=30.0),
               ChannelQuality(words=len(client), speech_db=-20.0, snr_db=30.0)]
    return _Recognised(key="k", audio_sha256="a", channels=[_segments(manager), _segments(client)], duration=60.0,
                       model="test", quality=quality)


def _dialogue(manager_text: str, start: float, level: float, probability: float = 0.95) -> tuple[list[Word], list[Word]]:
    """The manager's words in three turns from ``start``, the client's replies between them."""
    said = manager_text.split()
    third = len(said) // 3
    manager, client, t = [], [], start
    for k, chunk in enumerate([said[:third], said[third:2 * third], said[2 * third:]]):
        manager += _words(" ".join(chunk), t, level, probability)
        t += 0.4 * len(chunk) + 0.5
        client += _words(" ".join(CLIENT.split()[5 * k:5 * k + 5]), t, -20.0)
        t += 2.5
    return manager, client


def _call_with_background(background: str, level: float = -35.0) -> Transcript:
    """The manager (left, -20 dBFS) says everything but the greeting; a colleague 15 dB below reads it before
    them; the client (right) answers."""
    manager, client = _dialogue(MANAGER_REST, 12.0, -20.0)
    colleague = _words(background, 0.0, level)
    options = TranscribeOptions(manager_channel="left")
    return assemble_transcript(_recognised(sorted(manager + colleague, key=lambda w: w.start or 0), client), "x.ogg",
                     options, SCRIPT)


def test_background_words_are_kept_apart_and_never_credited():
    transcript = _call_with_background(GREETING + " короче не знаю")
    background = " ".join(s.text for s in transcript.segments if s.speaker == "background")
    assert "Смарт Мейкер" in background and "не знаю" in background
    assert "Смарт" not in transcript.text_of("manager")
    assert transcript.quality is not None
    left = transcript.quality.channels[0]
    assert left.speaker == "manager" and left.channel == "left" and left.background_words == len(
        (GREETING + " короче не знаю").split())
    result = score_call(transcript, SCRIPT, "newcomer", WORDS_ONLY)
    stages = {s.id: s for s in result.stages}
    heard = {i for i, seg in enumerate(transcript.segments) if seg.speaker == "background"}
    assert not any(line.span is not None and line.span.turn in heard for s in result.stages for line in s.lines)
    assert stages["greeting"].lines[0].found is Found.ABSENT  # the colleague's introduction is not the manager's
    assert stages["needs"].present
    assert result.forbidden == []           # nor are their forbidden phrases


def test_background_words_are_no_partys_talk():
    quiet = _call_with_background(GREETING * 3)             # a colleague reads on for half a minute
    manager, client = _dialogue(MANAGER_REST, 12.0, -20.0)
    alone = assemble_transcript(_recognised(manager, client), "x.ogg", TranscribeOptions(manager_channel="left"), SCRIPT)
    assert quiet.talk is not None and alone.talk is not None
    assert quiet.talk.manager_speech == alone.talk.manager_speech    # the colleague's words are not the manager's
    assert quiet.talk.manager_share == alone.talk.manager_share
    assert quiet.talk.silence > alone.talk.silence - 0.01             # nor do they fill the call's silence
    assert quiet.talk.longest_manager_monologue == alone.talk.longest_manager_monologue

def test_a_colleague_reading_the_script_on_the_clients_channel_does_not_take_the_managers_role():
    # A client who says little, and a colleague at the next desk 6 dB below reading the whole script: inside the
    # background gate (8 dB), so those words stay the channel's; the role is chosen on each channel's speaker.
    manager = _words(GREETING + " Расскажите, пожалуйста, какую задачу вы хотите решить?", 0.0, -20.0)
    client = _words("Да, слушаю вас. Нам нужен сайт.", 8.0, -20.0)
    colleague = _words(GREETING + " " + MANAGER_REST, 12.0, -26.0)
    recognised = _recognised(manager, sorted(client + colleague, key=lambda w: w.start or 0))
    chosen = assemble_transcript(recognised, "x.ogg", TranscribeOptions(), SCRIPT)
    assert chosen.manager_channel == "left"
    assert "Смарт Мейкер" in chosen.text_of("manager")
    unmeasured = recognised.model_copy(update={"quality": []})   # no levels (a cache from before): every word counts
    assert assemble_transcript(unmeasured, "x.ogg", TranscribeOptions(), SCRIPT).manager_channel == "right"


def test_background_marking_off_or_unmeasured_keeps_every_word():
    manager = _words(GREETING + " " + MANAGER_REST, 0.0, -35.0)
    client = _words(CLIENT, 40.0, -20.0)
    off = assemble_transcript(_recognised(manager, client), "x.ogg", TranscribeOptions(manager_channel="left",
                                                                             background_word_db=0), SCRIPT)
    assert not any(s.speaker == "background" for s in off.segments)
    old = _recognised(manager, client)
    old.quality = []  # a cache from before the measures
    before = assemble_transcript(old, "x.ogg", TranscribeOptions(manager_channel="left"), SCRIPT)
    assert before.quality is None and not any(s.speaker == "background" for s in before.segments)


def _typed(manager_probability: float, forbidden_probability: float, quality: str) -> Transcript:
    manager, client = _dialogue(MANAGER_REST, 20.0, -20.0)
    manager = _words(GREETING, 0.0, -20.0, manager_probability) + manager
    manager += _words("ну короче", 90.0, -20.0, forbidden_probability)
    transcript = assemble_transcript(_recognised(manager, client), "x.ogg", TranscribeOptions(manager_channel="left"), SCRIPT)
    transcript.quality = RecognitionQuality(rating=quality, channels=[  # type: ignore[arg-type]
        ChannelQuality(speaker="manager", words=60, low_confidence=0.3 if quality == "poor" else 0.02)])
    return transcript


def test_low_confidence_evidence_is_uncertain_and_a_forbidden_phrase_is_held():
    result = score_call(_typed(0.3, 0.2, "good"), SCRIPT, "newcomer", WORDS_ONLY)
    stages = {s.id: s for s in result.stages}
    assert stages["greeting"].present and stages["greeting"].uncertain   # shown as uncertain, not silently credited
    assert stages["needs"].present and not stages["needs"].uncertain
    assert [h.phrase for h in result.forbidden] == ["короче"] and result.forbidden[0].uncertain
    assert result.charged_forbidden == []                                 # shown, not charged
    assert result.flags == []                                             # a good call: no flag

    sure = score_call(_typed(0.95, 0.95, "good"), SCRIPT, "newcomer", WORDS_ONLY)
    assert not any(s.uncertain for s in sure.stages)
    assert [h.phrase for h in sure.charged_forbidden] == ["короче"]


def test_poor_recognition_raises_a_flag_not_a_silent_verdict():
    result = score_call(_typed(0.95, 0.95, "poor"), SCRIPT, "newcomer", WORDS_ONLY)
    assert [f.code for f in result.flags] == ["poor_recognition"]
    assert any(m.code == "poor_recognition" for m in result.messages)
    assert result.quality is not None and result.quality.rating == "poor"
    missed = [s for s in result.stages if s.required and s.applies and not s.present]
    assert all(s.uncertain for s in missed)  # absent on a poorly recognised call: not silently missed
    dumped = result.model_dump(mode="json")
    assert dumped["flags"] == [{"code": "poor_recognition", "detail": "low-confidence words 30%"}]
    assert dumped["quality"]["rating"] == "poor"


@pytest.mark.parametrize("lang, words", [
    ("ru", ["Качество записи: низкое", "запись плохо распознана — проверьте", "не засчитана", "Фон"]),
    ("en", ["Recording quality: poor", "recording poorly recognised — please check", "not charged", "Background"]),
])
def test_call_page_shows_quality_flag_and_held_evidence(lang, words):
    transcript = _call_with_background(GREETING, level=-36.0)
    transcript.segments.append(Segment(text="ну короче", speaker="manager", start=70.0, end=71.0,
                                       words=_words("ну короче", 70.0, -20.0, 0.2)))
    transcript.quality = RecognitionQuality(rating="poor", channels=[
        ChannelQuality(speaker="manager", channel="left", words=60, low_confidence=0.3, snr_db=9.0,
                       background_words=13, rating="poor")])
    result = score_call(transcript, SCRIPT, "newcomer", WORDS_ONLY)
    record = CallRecord(call_id="c1", file="x.ogg", manager="ivanova", result=result, transcript=transcript)
    page = build_call_page(record, SCRIPT)
    assert page.quality == "poor" and [f.code for f in page.flags] == ["poor_recognition"]
    html = render_call_page(page, make_environment(lang))
    for text in words:
        assert text in html
    assert html.count(words[1]) == 1   # the flag's line says it; no note repeats it beneath


def _record(i: int, flagged: bool, decided: bool = False) -> CallRecord:
    stages = [StageResult(id="greeting", score=90.0, present=True)]
    result = CallResult(script_id="s", level="newcomer", band=(85.0, 90.0), connected=True, adherence=70.0,
                        verdict="below", stages=stages,
                        flags=[ReviewFlag(code="poor_recognition")] if flagged else [])
    machine = result.model_copy() if decided else None
    return CallRecord(call_id=f"c{i}", file=f"{i}.ogg", manager="ivanova", date="2026-11-27",
                      time=f"10:00:{i:02d}", result=result, machine=machine)


def test_flagged_calls_wait_for_the_lead_before_counting_toward_readiness():
    records = [_record(i, flagged=i < 3) for i in range(5)]
    assert assess_readiness(records, "newcomer").calls_considered == 2
    records[0] = _record(0, flagged=True, decided=True)   # the lead decided on it: it counts again
    assert assess_readiness(records, "newcomer").calls_considered == 3


def test_loud_parts_drop_stretches_only_a_quiet_voice_is_heard_in():
    rate = SAMPLE_RATE
    t = np.arange(2 * rate) / rate
    loud = 0.3 * np.sin(2 * np.pi * 220 * t)
    quiet = loud * 10 ** (-20 / 20)
    audio = np.concatenate([loud, quiet, loud]).astype(np.float32)
    everything = [(0, len(audio))]
    parts = loud_parts(audio, everything, 12.0)
    assert len(parts) == 2
    assert parts[0][0] == 0 and parts[0][1] < 2.5 * rate
    assert 3.5 * rate < parts[1][0] < 4 * rate and parts[1][1] == len(audio)
    assert loud_parts(audio, everything, 0) == everything
    assert loud_parts(audio, everything, 30.0) == [(0, len(audio))]


def test_the_default_gate_drops_a_voice_ten_db_below_and_keeps_the_speaker_whole():
    from compliance.speech.engine import TranscribeOptions

    rate = SAMPLE_RATE
    t = np.arange(2 * rate) / rate
    speaker = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))  # syllables: 9.5 dB swing
    colleague = 0.3 * np.sin(2 * np.pi * 330 * t) * 10 ** (-10 / 20)
    audio = np.concatenate([speaker, colleague, speaker]).astype(np.float32)
    parts = loud_parts(audio, [(0, len(audio))], TranscribeOptions().background_db)
    assert len(parts) == 2  # the colleague alone is not decoded …
    assert parts[0][0] == 0 and 2 * rate <= parts[0][1] < 2.5 * rate  # … the speaker's quieter syllables are
    assert 3.5 * rate < parts[1][0] <= 4 * rate and parts[1][1] == len(audio)


def test_a_teams_model_folder_is_what_the_batch_loads(tmp_path):
    import shutil

    from compliance.batch.run import BatchOptions, run_batch
    from compliance.errors import ComplianceError

    (tmp_path / "models" / "whisper-small-ru").mkdir(parents=True)  # a folder without model.bin: loading it fails
    team = tmp_path / "team.yaml"
    team.write_text("model: models/whisper-small-ru\nmanagers:\n  ivanova: {name: Иванова Мария, level: newcomer}\n",
                    encoding="utf-8")
    day = tmp_path / "day"
    day.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "audio" / "call_missing.stereo.ogg",
                day / "2026-11-27_10-31-02_ivanova_380991234567.ogg")
    options = BatchOptions(folder=day, db=tmp_path / "c.db", team=team, cache_dir=tmp_path / "cache", workers=1)
    try:
        summary = run_batch(options)
        said = " ".join(f.model_dump_json() for f in summary.files)
    except ComplianceError as exc:
        said = str(exc)
    assert "whisper-small-ru" in said and "model.bin" in said, said
