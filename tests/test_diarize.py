"""Diarization of one-channel calls: voices made with numpy, the role decision, the review flag and what it does.

The real model on a real (synthesised) mono call is at the end (slow).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compliance.history.decisions import CONFIRM, Decision, apply_decisions
from compliance.history.readiness import assess_readiness
from compliance.scoring.result import CallRecord, ReviewFlag
from compliance.scoring.score import score_call
from compliance.scoring.transcript import Segment, Transcript, Word, swap_parties
from compliance.speech.cache import _Recognised
from compliance.speech.diarize import Diarization, diarize, mfcc
from compliance.speech.parties import NOT_SEPARATED, assemble_mono

SR = 16000
AUDIO = Path(__file__).resolve().parent / "fixtures" / "audio"
# (pitch Hz, formants (centre, width)): two made-up voices, far apart as a man and a woman are
LOW = (110, [(600, 150), (1100, 200), (2500, 300)])
HIGH = (210, [(400, 120), (1900, 250), (2900, 300)])


def _voice(f0: float, formants, seconds: float, rng) -> np.ndarray:
    """A vowel-like voice: harmonics of a wobbling pitch shaped by formants, in syllable-like bursts."""
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.08 * np.sin(2 * np.pi * 3 * t + rng.uniform(0, 6)))) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 30))
    freqs = np.fft.rfftfreq(len(x), 1 / SR)
    envelope = sum(np.exp(-((freqs - centre) / width) ** 2) for centre, width in formants)
    y = np.fft.irfft(np.fft.rfft(x) * envelope, len(x)) * (0.6 + 0.4 * np.abs(np.sin(2 * np.pi * 2.5 * t)))
    return (y / np.abs(y).max() * 0.3).astype(np.float32)


def _call(voices, turns: int = 12, seed: int = 1):
    """Turns of ``voices`` in rotation; returns audio, word-like units (0.3 s) and each unit's true voice."""
    rng = np.random.default_rng(seed)
    audio, units, truth, t = [np.zeros(SR // 2, np.float32)], [], [], 0.5
    for i in range(turns):
        k = i % len(voices)
        length = rng.uniform(1.5, 3.5)
        audio += [_voice(*voices[k], length, rng), np.zeros(SR // 2, np.float32)]
        start = t
        while start < t + length - 0.2:
            units.append((start, start + 0.3))
            truth.append(k)
            start += 0.35
        t += length + 0.5
    mix = np.concatenate(audio)
    return mix + rng.normal(0, 0.003, mix.size).astype(np.float32), units, np.array(truth)


def _agreement(labels, truth) -> float:
    labels = np.array(labels)
    return max(float(np.mean(labels == truth)), float(np.mean(labels != truth)))


def test_two_voices_are_told_apart_word_by_word():
    audio, units, truth = _call([LOW, HIGH])
    result = diarize(audio, units)
    assert result.voices == 2 and result.confident
    assert _agreement(result.labels, truth) >= 0.97
    assert len(result.prints) == 2 and all(len(p) == 2 * mfcc(audio[:SR]).shape[1] for p in result.prints)


def test_one_voice_is_one_voice_not_two_parties():
    audio, units, _ = _call([LOW])
    result = diarize(audio, units)
    assert result.voices == 1 and len(set(result.labels)) == 1


def test_a_short_phrase_of_two_turns_is_split_at_the_turn():
    """Two turns, a few seconds each (a greeting and its answer): the turn search splits them where they change."""
    audio, units, truth = _call([LOW, HIGH], turns=2, seed=4)
    result = diarize(audio, units)
    assert result.voices == 2 and _agreement(result.labels, truth) >= 0.95, (result.labels, truth)


def test_the_contrast_of_two_voices_stands_apart_from_one_voice_split_in_two():
    """Piece by piece, two voices lie apart and one voice split in two does not; too few pieces say nothing."""
    from compliance.speech.diarize import DiarizeOptions, _chunks, _contrast, _frame_range

    def contrast(audio, units, labels):
        feats = mfcc(audio)
        feats = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-6)
        return _contrast(feats, [_frame_range(a, b, len(feats)) for a, b in units], _chunks(units, 1.5), labels)

    limit = DiarizeOptions().one_voice_contrast
    audio, units, truth = _call([LOW, HIGH], turns=12)
    assert contrast(audio, units, list(truth)) > 2 * limit
    audio, units, _ = _call([LOW], turns=12)
    halves = [int(i >= len(units) // 2) for i in range(len(units))]
    assert contrast(audio, units, halves) < limit / 2
    assert contrast(audio, units[:6], [0, 0, 0, 1, 1, 1]) == float("inf")


def _band_verdict(contrast: float, pieces: list[int]):
    """The verdict on a split whose separation lies in the flag band, with the given contrast and pieces a party."""
    from compliance.speech.diarize import DiarizeOptions, _verdict

    options = DiarizeOptions()
    separation = (options.one_voice + options.min_separation) / 2
    units = [(i * 0.5, i * 0.5 + 0.45) for i in range(100)]  # 45 s of speech: enough to trust one voice
    labels = [int(i >= 50) for i in range(100)]
    feats = np.random.default_rng(0).normal(size=(5100, 16)).astype(np.float32)
    spans = [(int(a * 100), int(b * 100)) for a, b in units]
    return _verdict(labels, units, separation, feats, spans, options, contrast, pieces)


@pytest.mark.parametrize("contrast,pieces,voices,trusted", [
    (1.5, [30, 30], 2, True),     # a close pair over a whole call: apart piece after piece, no flag needed
    (1.1, [29, 44], 2, True),     # the lowest such contrast measured on a whole call (festival's nearest pair)
    (3.47, [22, 5], 2, False),    # one voice's few pieces far from the rest: the best of many splits, flagged
    (0.95, [31, 20], 2, False),   # one voice split in two over a whole call: flagged
    (10.0, [6, 40], 2, False),    # a party of six pieces: too little to trust, whatever its contrast
    (0.5, [30, 30], 1, True),     # no contrast: one voice
])
def test_in_the_flag_band_the_contrast_weighed_by_its_pieces_decides_the_flag(contrast, pieces, voices, trusted):
    result = _band_verdict(contrast, pieces)
    assert (result.voices, result.confident) == (voices, trusted)
    assert result.pieces == pieces


@pytest.mark.parametrize("words,trusted", [(20, False), (99, False), (101, True)])
def test_one_voice_heard_in_little_speech_is_not_trusted(words, trusted):
    """Two voices in a short call, one side saying little, were read as one voice up to 32 s of speech: a reading on
    less than 40 s is said to be unsure (the call is flagged), a longer one is trusted."""
    from compliance.speech.diarize import DiarizeOptions, _verdict

    options = DiarizeOptions()
    units = [(i * 0.5, i * 0.5 + 0.4) for i in range(words)]   # 0.4 s of speech a word
    feats = np.random.default_rng(0).normal(size=(int(words * 50) + 100, 16)).astype(np.float32)
    spans = [(int(a * 100), int(b * 100)) for a, b in units]
    result = _verdict([int(i >= words // 2) for i in range(words)], units, 0.0, feats, spans, options, 0.5, [9, 9])
    assert result.voices == 1 and result.confident is trusted


def test_a_short_call_heard_as_one_voice_is_flagged_until_the_lead_checks_it(default_script):
    recognised = _recognised(voices=1, confident=False)
    recognised.channels = [recognised.channels[0][:2]]   # the greeting and «слушаю вас»: the client cuts it short
    recognised.diarization.labels = [0] * sum(len(s.words) for s in recognised.channels[0])
    transcript = Transcript()
    assemble_mono(recognised, transcript, default_script)
    assert transcript.parties.voices == 1 and not transcript.parties.separated
    assert [(f.code, f.params["why"]) for f in transcript.flags] == [(NOT_SEPARATED, "short")]
    result = score_call(transcript, default_script, "newcomer")
    assert [f.code for f in result.flags] == [NOT_SEPARATED]
    swapped = Transcript()
    assemble_mono(recognised, swapped, default_script, swap=True)   # the lead said who is who: no flag
    assert swapped.flags == []


def test_one_voice_is_trusted_on_a_whole_call_and_not_on_a_few_words():
    """The diarizer end to end: one made-up voice over 24 turns (about 50 s of speech) is one voice, sure; over three
    turns (about 6 s) one voice, unsure; two voices over three turns are still told apart."""
    audio, units, _ = _call([LOW], turns=24)
    assert (diarize(audio, units).voices, diarize(audio, units).confident) == (1, True)
    audio, units, _ = _call([LOW], turns=3)
    short = diarize(audio, units)
    assert (short.voices, short.confident) == (1, False)
    audio, units, truth = _call([LOW, HIGH], turns=3)
    two = diarize(audio, units)
    assert two.voices == 2 and _agreement(two.labels, truth) > 0.9


def test_a_lone_word_inside_a_turn_stays_with_its_party():
    """A word that sounds like the other party inside a phrase (no pause around it) is not given to them; a run
    of words after a pause is."""
    from compliance.speech.diarize import DiarizeOptions, _viterbi

    penalty = DiarizeOptions().switch_penalty
    scores = np.array([10.0] * 8 + [-40.0] + [10.0] * 8 + [-10.0] * 6)
    gaps = np.zeros(len(scores))
    gaps[17] = 0.5  # the other party answers after a pause
    path = _viterbi(scores, gaps, penalty)
    assert list(path) == [0] * 17 + [1] * 6


@pytest.mark.parametrize("audio,units", [
    (np.zeros(SR * 3, np.float32), []),                                   # silence, nothing recognised
    (np.zeros(SR * 3, np.float32), [(0.5, 0.8)]),                         # one word
    (np.zeros(100, np.float32), [(0.0, 1.0), (1.0, 2.0)]),                # words past the end of the audio
    (np.random.default_rng(0).normal(0, 0.1, SR * 4).astype(np.float32),  # noise "words"
     [(i * 0.4, i * 0.4 + 0.3) for i in range(9)]),
])
def test_bad_input_gets_an_answer_not_a_crash(audio, units):
    result = diarize(audio, units)
    assert len(result.labels) == len(units) and result.voices in (0, 1, 2)


def test_a_third_voice_does_not_break_the_two_parties():
    """An IVR-like third voice before a two-party call: the two parties stay apart."""
    third = (330, [(800, 200), (1500, 250), (3200, 300)])
    audio, units, truth = _call([LOW, HIGH], turns=12, seed=2)
    intro, intro_units, _ = _call([third], turns=1, seed=3)
    shift = len(intro) / SR
    audio = np.concatenate([intro, audio])
    units = intro_units + [(a + shift, b + shift) for a, b in units]
    result = diarize(audio, units)
    assert result.voices == 2
    assert _agreement(result.labels[len(intro_units):], truth) >= 0.95


# ---------------------------------------------------------------------------------------------------------------
# The parties of a transcript: roles by the script, talk metrics, the flag


def _words(text: str, start: float) -> list[Word]:
    return [Word(word=w, start=start + i * 0.4, end=start + i * 0.4 + 0.35) for i, w in enumerate(text.split())]


MANAGER_LINES = ["Добрый день, Ольга! Меня зовут Иван, компания Смарт Мейкер. Вам удобно сейчас говорить?",
                 "Расскажите, пожалуйста, какую задачу вы хотите решить?",
                 "Да, мы можем это сделать для вас. Я подготовлю для вас предложение с ценой и сроками.",
                 "Когда вы планируете оплату?", "Давайте договоримся о следующем шаге. Я отправлю вам счёт сегодня.",
                 "Спасибо за уделённое время, Ольга! Всего доброго, до свидания!"]
CLIENT_LINES = ["Да, здравствуйте, слушаю вас, говорите.", "Нам нужен новый сайт для магазина, не знаю какой.",
                "Хорошо, присылайте, посмотрим.", "Думаю, в начале месяца.", "Договорились, жду.", "До свидания."]


def _recognised(separation: float = 2.0, confident: bool = True, voices: int = 2, client_first: bool = False):
    """A mono call's cached words with the diarizer's labels (party 1 is the manager unless ``client_first``)."""
    segments, labels, t = [], [], 0.5
    for m, c in zip(MANAGER_LINES, CLIENT_LINES):
        for text, party in ((m, 1), (c, 0)):
            words = _words(text, t)
            segments.append(Segment(text=text, start=words[0].start, end=words[-1].end, words=words))
            labels += [party if voices == 2 else 0] * len(words)
            t = words[-1].end + 0.6
    diar = Diarization(labels=labels, separation=separation, voices=voices, confident=confident,
                       prints=[[0.0] * 4, [1.0] * 4] if voices == 2 else [[0.0] * 4])
    return _Recognised(key="k", audio_sha256="0", channels=[segments], duration=t + 1, model="fake",
                       diarization=diar)


def test_the_manager_is_the_party_that_follows_the_script(default_script):
    transcript = Transcript(source="call.wav")
    assemble_mono(_recognised(), transcript, default_script)
    assert transcript.parties is not None and transcript.parties.manager == 1 and transcript.parties.by == "script"
    assert transcript.parties.confidence >= 0.9 and transcript.flags == []
    assert transcript.segments[0].speaker == "manager" and transcript.segments[1].speaker == "client"
    talk = transcript.talk
    assert talk is not None and 0.5 < talk.manager_share < 0.8 and talk.client_speech > 0
    assert talk.response_time == pytest.approx(0.6, abs=0.01)  # every line follows 0.6 s after the last
    result = score_call(transcript, default_script, "newcomer")
    assert result.connected and result.speakers_known and result.parties == transcript.parties
    assert result.forbidden == []  # «не знаю» is the client's
    assert json.loads(result.model_dump_json())["parties"]["by"] == "script"


def test_voices_not_told_apart_flag_the_call_for_review(default_script):
    transcript = Transcript(source="call.wav")
    assemble_mono(_recognised(separation=0.2, confident=False), transcript, default_script)
    assert [f.code for f in transcript.flags] == [NOT_SEPARATED]
    result = score_call(transcript, default_script, "newcomer")
    assert result.flags == [ReviewFlag(code=NOT_SEPARATED, detail=result.flags[0].detail)]
    assert "separation=0.2" in result.flags[0].detail
    assert json.loads(result.model_dump_json())["flags"][0]["code"] == NOT_SEPARATED


def test_an_enrolled_voice_chooses_the_manager_against_a_weak_script_fit(default_script):
    recognised = _recognised()
    transcript = Transcript()
    assemble_mono(recognised, transcript, None, voice=[1.0] * 4)  # no script: the voice alone
    assert transcript.parties.by == "voice" and transcript.parties.manager == 1


def test_the_party_that_greets_is_the_manager_when_the_client_reads_the_close(default_script):
    """A short one-channel call: the manager greets and asks one question, the client reads the next step, when
    they pay and the goodbye. The client's lines fit the script better, by less than the opening's margin: the
    greeting chooses the manager, and with the client's lead this close to the margin the choice is unsure and the
    call is held for the lead."""
    manager = ["Добрый день, Ольга! Меня зовут Иван, компания Смарт Мейкер. Вам удобно сейчас говорить?",
               "Какие сроки для вас важны?", "Ага."]
    client = ["Да, удобно, слушаю.", "До пятницы. Давайте договоримся о следующем шаге: вы мне счёт, я оплачу на "
              "этой неделе. Спасибо за разговор! Всего доброго, до свидания!"]
    segments, labels, t = [], [], 0.5
    for text, party in [(manager[0], 1), (client[0], 0), (manager[1], 1), (client[1], 0), (manager[2], 1)]:
        words = _words(text, t)
        segments.append(Segment(text=text, start=words[0].start, end=words[-1].end, words=words))
        labels += [party] * len(words)
        t = words[-1].end + 0.6
    diar = Diarization(labels=labels, separation=2.0, voices=2, confident=True, prints=[[0.0] * 4, [1.0] * 4])
    recognised = _Recognised(key="k", audio_sha256="0", channels=[segments], duration=t + 1, model="fake",
                             diarization=diar)
    transcript = Transcript()
    assemble_mono(recognised, transcript, default_script)
    parties = transcript.parties
    assert parties.fits[0] > parties.fits[1] and parties.manager == 1 and parties.by == "script"
    assert parties.confidence < 0.6
    assert [(f.code, f.params["why"]) for f in transcript.flags] == [(NOT_SEPARATED, "role")]
    assert transcript.segments[0].speaker == "manager"


def test_one_voice_that_follows_the_script_through_a_call_is_a_conversation_heard_as_one(default_script):
    """A manager who greets, asks the needs, offers, asks when the client pays and agrees the next step is talking
    to someone: a client who says too little («да», «угу») to be heard apart, not an answering machine. The call is
    scored on all its words, as one whose speakers are not known, with no talk metrics, and flagged."""
    recognised = _recognised(voices=1)
    recognised.channels = [[s for s in recognised.channels[0] if s.text in MANAGER_LINES]]
    recognised.diarization.labels = [0] * sum(len(s.words) for s in recognised.channels[0])
    transcript = Transcript()
    assemble_mono(recognised, transcript, default_script)
    assert {s.speaker for s in transcript.segments} == {"unknown"} and transcript.talk is None
    assert [(f.code, f.params["why"]) for f in transcript.flags] == [(NOT_SEPARATED, "converses")]
    result = score_call(transcript, default_script, "newcomer")
    assert result.connected and result.adherence is not None and result.adherence >= 70
    assert [f.code for f in result.flags] == [NOT_SEPARATED]   # it counts once the lead has checked it


def _lone_voice(said: str, script) -> Transcript:
    """One voice alone on a mono recording saying ``said`` (a word every 0.4 s), its parties assembled."""
    recognised = _recognised(voices=1)
    words = [Word(word=w, start=0.5 + 0.4 * i, end=0.8 + 0.4 * i) for i, w in enumerate(said.split())]
    recognised.channels = [[Segment(start=0.5, end=words[-1].end, speaker="unknown", text=said, words=words)]]
    recognised.diarization.labels = [0] * len(words)
    transcript = Transcript()
    assemble_mono(recognised, transcript, script)
    return transcript


def test_a_voicemail_message_that_greets_is_the_managers(default_script):
    """A manager talking to an answering machine greets, introduces the company and asks for a call back: little of
    the script (below the one-voice fit), but the script's opening, so the lone voice is the manager's."""
    message = "Здравствуйте, это Иван из Смарт Мейкер, по вашей заявке. Перезвоните, пожалуйста."
    transcript = _lone_voice(message, default_script)
    assert transcript.parties.fits[0] < 15 and {s.speaker for s in transcript.segments} == {"manager"}
    assert score_call(transcript, default_script, "newcomer").not_connected.code == "voicemail_left"


def test_a_few_words_to_nobody_are_no_message_left(default_script):
    said = "Алло? Алло, добрый день?"
    transcript = _lone_voice(said, default_script)
    result = score_call(transcript, default_script, "newcomer")
    assert not result.connected and result.not_connected.code != "voicemail_left"


def test_a_lone_voice_that_does_not_open_as_the_script_is_the_clients(default_script):
    said = "Алло, слушаю вас. Да, мне нужен сайт для магазина, бюджет около тридцати тысяч гривен, за месяц."
    transcript = _lone_voice(said, default_script)
    assert {s.speaker for s in transcript.segments} == {"client"}
    assert score_call(transcript, default_script, "newcomer").not_connected.code != "voicemail_left"


GREETING = "Здравствуйте, это Михаил. Я сейчас не могу ответить, оставьте сообщение после сигнала."
MESSAGE = ("Михаил, добрый день! Меня зовут Светлана, компания Банный двор. Вы оставляли заявку на строительство бани. "
           "Перезвоните мне, пожалуйста, по этому номеру, или я сама наберу вам завтра после обеда. Спасибо!")


def test_a_machine_greeting_and_a_message_heard_as_one_voice_are_voicemail(default_script):
    """An answering machine's greeting, then the manager's message, on one channel: heard as one voice, both go to
    one party (the greeting's side or the manager's), and the call is voicemail as in stereo, not one-sided."""
    transcript = _lone_voice(f"{GREETING} {MESSAGE}", default_script)
    assert transcript.parties.voices == 1
    result = score_call(transcript, default_script, "newcomer")
    assert not result.connected and result.not_connected.code == "voicemail", result.not_connected
    assert score_call(swap_parties(transcript), default_script, "newcomer").not_connected.code == "voicemail"


def _greeting_then_message(greeting: str, message: str, script) -> Transcript:
    """A greeting and a message on one channel, split into two voices (the greeting party 0, the message party 1)."""
    recognised = _recognised()
    first, second = _words(greeting, 0.5), _words(message, 0.5 + 0.4 * len(greeting.split()) + 1.5)
    recognised.channels = [[Segment(text=greeting, start=first[0].start, end=first[-1].end, words=first),
                            Segment(text=message, start=second[0].start, end=second[-1].end, words=second)]]
    recognised.diarization.labels = [0] * len(first) + [1] * len(second)
    transcript = Transcript()
    assemble_mono(recognised, transcript, script)
    return transcript


def test_a_machine_greeting_split_from_the_message_is_voicemail_whoever_gets_it(default_script):
    transcript = _greeting_then_message(GREETING, MESSAGE, default_script)
    assert transcript.parties.voices == 2 and transcript.segments[0].speaker == "client"
    for either in (transcript, swap_parties(transcript)):  # the roles as chosen, and the other way round
        assert score_call(either, default_script, "newcomer").not_connected.code == "voicemail"


def test_a_voicemail_phrase_later_in_a_mono_call_is_no_machine_greeting(default_script):
    """Only the opening is a machine's greeting: a short two-party call whose client mentions the answering machine
    after the manager's opening is no voicemail (the manager spoke first)."""
    said = ("Добрый день, Ольга! Меня зовут Иван, компания Смарт Мейкер. Вам удобно сейчас говорить? Расскажите, "
            "пожалуйста, какую задачу вы хотите решить?")
    reply = ("Да, здравствуйте, я думала, это снова автоответчик звонит. Нам нужен новый сайт для магазина, бюджет "
             "около тридцати тысяч гривен, хотим запустить его до конца следующего месяца, если получится.")
    assert len(reply.split()) >= 25  # the client said enough: the stereo rule does not read it as a greeting
    transcript = _greeting_then_message(said, reply, default_script)
    assert transcript.segments[0].speaker == "manager"
    result = score_call(transcript, default_script, "newcomer")
    assert result.not_connected is None or result.not_connected.code != "voicemail", result.not_connected


def test_the_lead_swaps_the_parties(default_script):
    transcript = Transcript()
    assemble_mono(_recognised(), transcript, default_script)
    swapped = swap_parties(transcript)
    assert swapped.segments[0].speaker == "client" and swapped.parties.swapped
    assert swapped.talk.manager_speech == transcript.talk.client_speech
    assert swap_parties(swapped).segments == transcript.segments
    worse = score_call(swapped, default_script, "newcomer")
    assert worse.adherence < score_call(transcript, default_script, "newcomer").adherence


def _record(call_id: str, flags: list[ReviewFlag], default_script) -> CallRecord:
    transcript = Transcript()
    assemble_mono(_recognised(), transcript, default_script)
    result = score_call(transcript, default_script, "newcomer").model_copy(update={"flags": flags})
    return CallRecord(call_id=call_id, file=f"{call_id}.wav", manager="ivanova", date=f"2026-12-0{call_id[-1]}",
                      result=result)


def test_readiness_leaves_out_a_flagged_call_until_a_lead_confirms_it(default_script):
    flag = [ReviewFlag(code=NOT_SEPARATED), ]
    records = [_record("c1", [], default_script), _record("c2", flag, default_script),
               _record("c3", [ReviewFlag(code="poor_recognition")], default_script)]
    before = assess_readiness(records, "newcomer", min_calls=1)
    assert before.calls_considered == 1 and before.calls_awaiting_check == ["c2", "c3"]
    confirmed = Decision(call_id="c2", stage_id=CONFIRM, present=True, by="lead", at="2026-12-06T10:00:00")
    records[1] = records[1].model_copy(update={"result": apply_decisions(records[1].result, [confirmed])})
    after = assess_readiness(records, "newcomer", min_calls=1)
    assert after.calls_considered == 2 and after.calls_awaiting_check == ["c3"]
    assert not records[1].result.messages or all(m.code != "override_orphaned" for m in records[1].result.messages)


# ---------------------------------------------------------------------------------------------------------------
# The real model on a real (synthesised) mono call: festival's voice and a pitched-up copy, 8 kHz mp3


@pytest.mark.slow
def test_real_mono_call_is_diarized_through_the_real_model(tmp_path, monkeypatch):
    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script
    from compliance.speech.transcribe import TranscribeOptions, transcribe_file

    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path))
    script = load_script(default_script_path())
    manifest = json.loads((AUDIO / "manifest.json").read_text(encoding="utf-8"))["call_full.mono.mp3"]
    transcript = transcribe_file(AUDIO / "call_full.mono.mp3", TranscribeOptions(), script=script)
    truth = [t for t in manifest["turns"] if not t.get("overlap")]
    words = [(w, s.speaker) for s in transcript.segments for w in s.words]
    right = sum(any(t["start"] - 0.25 <= (w.start + w.end) / 2 < t["end"] + 0.25 and t["speaker"] == who
                    for t in truth) for w, who in words)
    assert right / len(words) >= 0.95, f"{right}/{len(words)} words with the right speaker"
    assert transcript.parties.by == "script" and transcript.parties.confidence >= 0.9
    result = score_call(transcript, script, "newcomer")
    assert result.connected and result.speakers_known and result.adherence >= 85
    assert abs(result.talk.manager_share - 0.705) <= 0.05  # manifest: 44.6 s of the manager's, 18.6 s of the client's


@pytest.mark.parametrize("lang,text", [("ru", "говорящие не разделены"), ("en", "speakers not separated")])
def test_the_call_page_shows_the_flag_and_the_role_decision(default_script, lang, text):
    from compliance.reports import build_call_page, make_environment, render_call_page

    transcript = Transcript(source="call.wav")
    assemble_mono(_recognised(separation=0.2, confident=False), transcript, default_script)
    result = score_call(transcript, default_script, "newcomer")
    record = CallRecord(call_id="c1", file="call.wav", manager="ivanova", result=result, transcript=transcript)
    html = render_call_page(build_call_page(record, default_script), make_environment(lang))
    assert 'id="review-flags"' in html and text in html
    assert ("разделены по голосу" if lang == "ru" else "told apart by voice") in html
