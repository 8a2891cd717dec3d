"""The matcher on small, hand-made cases: one behaviour per test."""
from __future__ import annotations

import pytest

from compliance.scoring.result import CallRecord
from compliance.scoring.score import MatchOptions, check_connected, score_call
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Segment, TalkMetrics, Transcript, parse_text_transcript
from compliance.text.normalize import tokenize

FULL = """\
М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?
К: Да, слушаю.
М: Расскажите, пожалуйста, какую задачу вы хотите решить?
К: Нам нужен сайт для магазина.
М: Какие сроки для вас важны? И на какой бюджет вы рассчитываете?
К: Месяц, бюджет 15 000 гривен.
М: Да, мы можем это сделать для вас. Мы уже делали похожие проекты, и наши клиенты довольны результатом.
М: Я подготовлю для вас предложение с ценой и сроками.
К: Хорошо.
М: Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей?
К: На следующей.
М: Давайте договоримся о следующем шаге. Я отправлю вам счёт на оплату сегодня.
К: Отлично.
М: Спасибо за уделённое время, Анна! Всего доброго, до свидания!
К: До свидания.
"""


# Small talk that keeps a short test call above the "connected" minimum without saying any script line.
PAD = "\nК: Слушайте, а вы вообще где находитесь, в каком городе офис?\nМ: Мы в Киеве, на Подоле, рядом с метро.\n"


def _score(text: str, script: SalesScript, level: str = "newcomer"):
    return score_call(parse_text_transcript(text), script, level)


def _stage(result, stage_id):
    return next(s for s in result.stages if s.id == stage_id)


def test_verbatim_call_scores_full(default_script):
    r = _score(FULL, default_script)
    assert r.connected and r.adherence >= 95 and r.coverage == 100
    assert r.verdict == "above" and r.order_ok and not r.forbidden
    line = _stage(r, "payment_timing").lines[0]
    assert line.similarity == 100 and line.matched == "Когда вы планируете оплату?"
    assert line.turn == 9


def test_recognition_damage_still_matches(default_script):
    damaged = (FULL.lower().replace(",", "").replace("?", "").replace(".", "").replace("!", "")
               .replace("вам удобно", "вамудобно").replace("позвон", "по звон").replace("оплату", "оплатту")
               .replace("решить", "решыть").replace("ё", "е"))
    r = _score(damaged, default_script)
    assert r.adherence >= 90, r.adherence
    assert all(s.present for s in r.stages if s.required)


@pytest.mark.parametrize("said, line_text", [
    ("Вам удобно сейчас говорить?", "Вам удобно сейчас говорить?"),
    ("вамудобно сейчас говорить", "Вам удобно сейчас говорить?"),                  # merged words
    ("Когда вы планируете оплату", "Когда вы планируете оплату?"),
    ("когда вы планируете оплатить", "Когда вы планируете оплату?"),              # morphology
    ("Я отправлю вам счет на оплату сегодня", "Я отправлю вам счёт на оплату сегодня."),  # ё = е
    ("я перезвоню вам чтобы на помнить об оплате", "Я перезвоню вам, чтобы напомнить об оплате."),  # split word
])
def test_line_variants(default_script, said, line_text):
    r = _score(f"М: {said}\nК: да да конечно\nМ: хорошо\nК: ну давайте слушаю вас внимательно" + PAD, default_script)
    lines = [ln for s in r.stages for ln in s.lines if ln.text == line_text]
    assert lines and lines[0].similarity >= 90, [(ln.text, ln.similarity) for s in r.stages for ln in s.lines]


def test_numbers_digits_meet_words():
    script = SalesScript.model_validate({"id": "n", "title": "n", "stages": [
        {"id": "price", "lines": ["Стоимость пятнадцать тысяч гривен"]}]})
    r = score_call(parse_text_transcript("М: стоимость 15 000 гривен\nК: дорого, подумаю ещё\nМ: понимаю\nК: да, до свидания"
                                         + PAD), script)
    assert r.stages[0].lines[0].similarity == 100
    assert [t.surface for t in tokenize("15 000")] == ["пятнадцать", "тысяч"]


def test_placeholders_match_names(default_script):
    r = _score("М: Добрый день, Анна Петровна! Меня зовут Олег Иванович Сидоренко, компания Смарт Мейкер Плюс.\n"
               "К: здравствуйте, слушаю вас\nМ: вам удобно сейчас говорить?\nК: да, говорите" + PAD, default_script)
    greeting = _stage(r, "greeting")
    assert [ln.similarity for ln in greeting.lines] == [100, 100, 100]


def test_a_match_never_spans_two_turns(default_script):
    r = _score("М: Давайте договоримся\nК: угу\nМ: о следующем шаге, хорошо?\nК: ладно, давайте так и сделаем" + PAD,
               default_script)
    line = _stage(r, "next_step").lines[0]
    assert line.similarity < 100 and (line.span is None or line.span.turn_end is None)


def test_client_speech_never_counts(default_script):
    text = FULL.replace("М: Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей?",
                        "К: Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей? Не знаю.")
    r = _score(text, default_script)
    assert not _stage(r, "payment_timing").present
    assert r.forbidden == []


def test_forbidden_phrase_by_manager_with_time(default_script):
    text = FULL.replace("М: Я подготовлю", "М: Ну я не знаю, как бы. Короче, я подготовлю")
    r = _score(text, default_script)
    assert [h.phrase for h in r.forbidden] == ["не знаю", "как бы", "короче"]
    assert r.forbidden[0].matched == "не знаю" and r.forbidden[0].turn == 7


def test_question_is_not_filler(default_script):
    r = _score(FULL.replace("Вам удобнее оплатить", "Как бы вы хотели оплатить, удобнее"), default_script)
    assert r.forbidden == []


def test_order_violation_listed(default_script):
    text = FULL.replace("М: Расскажите, пожалуйста, какую задачу вы хотите решить?",
                        "М: Когда вы планируете оплату? Расскажите, пожалуйста, какую задачу вы хотите решить?")
    text = text.replace("М: Когда вы планируете оплату? Вам удобнее", "М: Вам удобнее")
    r = _score(text, default_script)
    assert not r.order_ok
    assert any(v.stage == "payment_timing" and v.before in ("needs", "offer") for v in r.order_violations)


def test_missing_stage_lowers_coverage_and_verdict(default_script):
    text = "\n".join(ln for ln in FULL.splitlines() if "оплат" not in ln.lower() or "счёт" in ln)
    r = _score(text, default_script)
    pay = _stage(r, "payment_timing")
    assert not pay.present and pay.score < 40
    assert r.coverage < 100 and r.verdict == "below"


def test_cannot_deliver_branch_excludes_sale_stages(default_script):
    text = """\
М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?
К: Да.
М: Расскажите, пожалуйста, какую задачу вы хотите решить? Какие сроки для вас важны?
К: Нужен мобильный банк с лицензией за неделю.
М: К сожалению, сейчас мы не сможем выполнить ваш запрос. Хотели бы вы сотрудничать с нами в будущем?
К: Да, можно.
М: Спасибо за уделённое время, Анна! Всего доброго, до свидания!
К: До свидания.
"""
    r = _score(text, default_script)
    applies = {s.id: s.applies for s in r.stages}
    assert applies["cannot_deliver"] and not applies["offer"] and not applies["payment_timing"]
    assert r.coverage == 100 and r.adherence >= 85


def test_absent_optional_stage_does_not_lower(default_script):
    r = _score(FULL, default_script)
    assert not _stage(r, "cannot_deliver").applies
    assert r.adherence == 100


@pytest.mark.parametrize("text, reason", [
    ("К: Абонент недоступен. Пожалуйста, оставьте сообщение после сигнала.\nМ: Добрый день, это Олег, перезвоните.",
     "автоответчик"),
    ("М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер.\nК: Не интересно.", "короткий"),
    ("М: " + "Добрый день, меня зовут Олег, компания Смарт Мейкер, вам удобно говорить? " * 4, "клиент не говорил"),
    ("", "нет речи"),
])
def test_not_connected(default_script, text, reason):
    r = _score(text, default_script)
    assert not r.connected and reason in r.not_connected_reason
    assert r.adherence is None and r.verdict is None


def test_a_machine_greeting_with_a_room_voice_after_it_is_still_voicemail(default_script):
    # voices-fresh7 call 13 at 5 dB: the client's side opens with the answering machine, then a colleague's voice
    # from the room behind it, as loud as the machine, fills the rest of that side (26 words in all)
    text = ("К: Здравствуйте, вы позвонили в компанию Складские решения. Сейчас никто не может ответить, пожалуйста, "
            "оставьте сообщение после сигнала.\n"
            "М: Добрый день, Николай! Меня зовут Евгений, компания ПогрузТехника. Вы оставляли заявку на аренду "
            "погрузчика. Перезвоните мне, пожалуйста, или я сам наберу вам завтра до обеда. Спасибо, всего доброго!\n"
            "К: Нам нужно перевести описания оборудования на немецкий, заверить за три недели, нужен Максим.")
    r = _score(text, default_script)
    assert not r.connected and "автоответчик" in r.not_connected_reason


def test_a_machine_phrase_said_later_by_a_client_who_answered_is_no_voicemail(default_script):
    text = ("К: Алло, да, слушаю вас.\n"
            "М: Добрый день, Николай! Меня зовут Евгений, компания ПогрузТехника. Вам удобно сейчас говорить?\n"
            "К: Да, говорите. Я вчера вам звонил, а у вас было сказано: оставьте сообщение после сигнала.\n"
            "М: Извините, линия была занята. Расскажите, пожалуйста, какую задачу вы хотите решить?\n"
            "К: Нужен погрузчик на месяц, на склад, грузы до двух тонн, работаем в две смены, начать хотим со "
            "следующей недели.")
    assert _score(text, default_script).connected


@pytest.mark.parametrize("said", ["Оставьте, пожалуйста, сообщение после сигнала.",
                                  "Абонент, пожалуйста, временно недоступен", "Перезвоните пожалуйста позднее"])
def test_a_courtesy_word_inside_a_voicemail_phrase_does_not_hide_it(said):
    from compliance.scoring.connection import voicemail_marker

    assert voicemail_marker(said) is not None
    assert voicemail_marker("Пожалуйста, расскажите подробнее о тарифе") is None


def test_one_party_audio_is_not_connected():
    t = parse_text_transcript(FULL)
    t.segments = [s for s in t.segments if s.speaker == "manager"][:3] + [t.segments[1]]
    t.talk = TalkMetrics(manager_speech=60.0, client_speech=1.0)
    connected, reason = check_connected(t, MatchOptions())
    assert not connected and "одна сторона" in reason


_READ_TO = ["Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?",
            "Вы оставляли заявку на вывеску. Какие сроки для вас важны? До конца месяца?",
            "Да, мы можем это сделать для вас. Оплату будете вносить сразу?",
            "Давайте договоримся о следующем шаге. Я отправлю вам счёт на оплату сегодня. Всего доброго, до свидания!"]


@pytest.mark.parametrize("replies, connected", [
    (["Да.", "Угу.", "Подходит.", "Хорошо."], True),  # a client who only agrees took part (calls_blind10, 11: 09–11)
    (["Да.", "", "Угу.", ""], False),  # two answers: too few to tell from a line that broke
    (["Алло?", "Алло?", "Не слышно.", ""], False),  # a bad line, nobody answered anything
])
def test_a_client_who_only_agrees_is_in_a_conversation(replies, connected):
    """Three or more answers, each after the manager's turn, connect a call whose client said under 3 s and under
    5 words; line checks («алло?») are no answers. The same with word counts only (a typed transcript)."""
    lines = [f"М: {m}\nК: {c}" if c else f"М: {m}" for m, c in zip(_READ_TO, replies)]
    t = parse_text_transcript("\n".join(lines))
    assert check_connected(t, MatchOptions())[0] is connected
    t.talk = TalkMetrics(manager_speech=42.0, client_speech=1.6)
    ok, reason = check_connected(t, MatchOptions())
    assert ok is connected and (connected or "одна сторона" in reason)


def test_unknown_speakers_scored_on_all_text(default_script):
    text = "\n".join(ln.split(": ", 1)[1] for ln in FULL.splitlines())
    r = _score(text, default_script)
    assert not r.speakers_known and r.connected and r.adherence >= 95
    codes = [m.code for m in r.messages]
    assert "speakers_unknown" in codes and set(codes) <= {"speakers_unknown", "no_prefixes"}
    unknown = r.messages[codes.index("speakers_unknown")]
    assert "не размечены" in unknown.text("ru") and "not marked" in unknown.text("en")


def test_a_transcript_with_no_prefixes_says_how_to_mark_them():
    t = parse_text_transcript("Добрый день, меня зовут Анна.\nЗдравствуйте.")
    assert [m.code for m in t.messages] == ["no_prefixes"]
    assert "«М:»" in t.messages[0].text("ru") and "«К:»" in t.messages[0].text("ru")
    assert "manager" in t.messages[0].text("en")
    assert parse_text_transcript("М: Добрый день.\nЗдравствуйте.").messages == []


def test_word_times_reach_evidence(default_script):
    t = Transcript(segments=[
        Segment(speaker="manager", start=10.0, end=14.0, text="Когда вы планируете оплату?",
                words=[{"word": w, "start": 10.0 + i} for i, w in enumerate(["Когда", "вы", "планируете", "оплату?"])]),
        Segment(speaker="client", start=14.0, end=20.0, text="На следующей неделе, наверное, в четверг или пятницу"),
        Segment(speaker="manager", start=20.0, end=22.0, text="Хорошо, договорились"),
        Segment(speaker="client", start=22.0, end=23.0, text="Да, до связи, спасибо, а где ваш офис находится?"),
        Segment(speaker="manager", start=23.0, end=25.0, text="Мы в Киеве, на Подоле, рядом с метро."),
    ])
    r = score_call(t, default_script)
    line = _stage(r, "payment_timing").lines[0]
    assert line.start == 10.0 and line.end == 13.0


def test_unknown_level_is_an_error(default_script):
    from compliance.errors import ScriptError
    with pytest.raises(ScriptError, match="нет уровня 'guru'"):
        _score(FULL, default_script, "guru")


def test_paraphrase_counts_as_present_at_partial_credit(default_script):
    text = FULL.replace("Вам удобно сейчас говорить?", "Не отвлекаю?")
    line = _stage(_score(text, default_script), "greeting").lines[2]
    assert line.paraphrase and line.cue == "не отвлекаю" and line.similarity == 60


def test_choose_script_picks_the_call_type():
    from compliance.scoring.score import choose_script
    from compliance.scoring.script_file import load_script
    from tests.conftest import FROZEN_SCRIPTS

    scripts = [load_script(p) for p in sorted(FROZEN_SCRIPTS.glob("*.yaml"))]
    assert {s.id for s in scripts} >= {"sales_call", "payment_reminder"}
    reminder = parse_text_transcript(
        "М: Добрый день, Анна! Это Олег, компания Смарт Мейкер, мы с вами общались по поводу проекта.\n"
        "К: Да, здравствуйте.\nМ: Скажите, пожалуйста, вы получили счёт, который я отправил?\nК: Да, получила.\n"
        "М: Подскажите, когда планируете провести оплату?\nК: В четверг.\n"
        "М: После оплаты с вами свяжется наш отдел заботы о клиентах и начнёт работу.\nК: Хорошо.\n"
        "М: Спасибо, Анна! Хорошего дня, до свидания!\nК: До свидания.")
    assert choose_script(reminder, scripts).id == "payment_reminder"
    assert choose_script(parse_text_transcript(FULL), scripts).id == "sales_call"


def test_cue_placeholder_is_filled_by_a_name(default_script):
    text = FULL.replace("Меня зовут Олег, компания Смарт Мейкер.", "Это Олег из «Смарт Мейкер».")
    line = _stage(_score(text, default_script), "greeting").lines[1]
    assert line.paraphrase and line.similarity == 60 and line.matched.startswith("Это Олег из")


def test_cue_words_count_only_in_order(default_script):
    text = FULL.replace("Всего доброго, до свидания!", "Пришлю всё завтра до обеда.")
    line = _stage(_score(text, default_script), "farewell").lines[1]
    assert line.cue != "до завтра"


def test_branch_phrase_in_an_ordinary_call_is_not_the_branch(default_script):
    text = FULL.replace("Спасибо за уделённое время", "Если появится задача, обращайтесь. Спасибо за уделённое время")
    r = _score(text, default_script)
    branch = _stage(r, "cannot_deliver")
    assert branch.present and not branch.applies
    assert all(s.applies for s in r.stages if s.required) and r.order_ok and r.adherence == 100


@pytest.mark.parametrize("said, charged", [
    ("Ну это типа шаблон, потом поменяем.", True),
    ("Сделаем по одному ролику каждого типа.", False),
    ("Для такого типа бизнеса подходит.", False),
])
def test_filler_word_or_ordinary_noun(default_script, said, charged):
    r = _score(FULL.replace("Я подготовлю для вас предложение", f"{said} Я подготовлю для вас предложение"), default_script)
    assert ([h.phrase for h in r.forbidden] == ["типа"]) is charged


def test_cue_words_match_their_synonyms(default_script):
    text = FULL.replace("Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей?",
                        "Когда будете готовы перевести деньги?")
    line = _stage(_score(text, default_script), "payment_timing").lines[0]
    assert line.paraphrase and line.cue == "когда готовы оплатить" and line.similarity == 60


def test_one_word_cue_is_that_word_not_its_synonyms(default_script):
    # "предоплата" is a cue of the payment stage; "оплатой" in passing is not a payment-timing question.
    text = FULL.replace("М: Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей?",
                        "М: Работаем по договору, с оплатой по счёту.")
    assert not _stage(_score(text, default_script), "payment_timing").present


def test_negated_line_is_not_the_line(default_script):
    text = FULL.replace("Да, мы можем это сделать для вас.", "Нет, мы не можем это сделать для вас.")
    line = _stage(_score(text, default_script), "offer").lines[0]
    assert line.similarity == 0 and line.matched is None


@pytest.mark.parametrize("operator", [
    "Абонент временно недоступен. Пожалуйста, перезвоните позднее.",
    "Здравствуйте, вы позвонили в компанию Альфа. Ваш звонок очень важен для нас, оставайтесь на линии.",
])
def test_operator_messages_are_not_connected(default_script, operator):
    r = _score(f"К: {operator}\nМ: Алло? Алло, вы меня слышите?", default_script)
    assert not r.connected and "автоответчик" in r.not_connected_reason


# --------------------------------------------------------------------------- issue 19: when a line gets credit

def _bundled():
    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script

    return load_script(default_script_path())  # declares each stage's act


def _without(stage_text: str, instead: str) -> str:
    assert stage_text in FULL
    return FULL.replace(stage_text, instead)


PAYMENT_LINE = "М: Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей?\nК: На следующей.\n"
NEXT_LINE = "М: Давайте договоримся о следующем шаге. Я отправлю вам счёт на оплату сегодня.\nК: Отлично.\n"
FAREWELL = "М: Спасибо за уделённое время, Анна! Всего доброго, до свидания!\nК: До свидания.\n"


OFFER_LINES = ("Да, мы можем это сделать для вас. Мы уже делали похожие проекты, и наши клиенты довольны результатом.\n"
               "М: Я подготовлю для вас предложение с ценой и сроками.")


@pytest.mark.parametrize("text, stage, line", [
    # a placeholder never lets a fragment of an unrelated sentence pass for the line
    (FULL.replace("М: Добрый день, Анна! ", "М: Вам удобнее убирать: днём или вечером? "), "greeting", 0),
    # a negated cue needs its negation: «это как раз наш профиль» is not «не наш профиль»
    (FULL.replace("Да, мы можем это сделать для вас.", "Да, это как раз наш профиль."), "cannot_deliver", 0),
    # a line the client cut off and the manager abandoned is not said
    (_without(PAYMENT_LINE, "М: Подскажите, когда вы планируете внести…\nК: Слушайте, давайте про деньги потом.\n"),
     "payment_timing", None),
    # a manager's refusal of a next step is not the next step
    (_without(NEXT_LINE, "М: Да не, договор — это уже потом.\nК: Хорошо.\n"), "next_step", None),
    # a vague promise is not a concrete next step
    (_without(NEXT_LINE, "М: Хорошо, будем на связи, наберу вас, как будет возможность.\nК: Хорошо.\n"), "next_step", None),
    # a company pitch does not say whether we can deliver the request
    (FULL.replace(OFFER_LINES, "Мы работаем с самыми разными объектами, компания на рынке давно."), "offer", None),
    # «как дела?» is not a greeting with a name and a company
    (FULL.replace("Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?",
                  "Анна, как дела?"), "greeting", None),
])
def test_what_is_not_the_line(text, stage, line):
    """``line`` None: the whole stage must be absent."""
    found = _stage(_score(text, _bundled()), stage)
    if line is None:
        assert not found.present, [ln.matched for ln in found.lines if ln.matched]
    else:
        assert found.lines[line].found == "absent" and found.lines[line].similarity < 60, found.lines[line].matched


GREETING = "М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?\nК: Да, слушаю.\n"
EARLY_PAYMENT = GREETING + "М: Скажите сразу, когда вы планируете оплату?\nК: Рано об этом.\n" + FULL.replace(
    GREETING, "").replace(PAYMENT_LINE, "")
EARLY_NEXT = GREETING + NEXT_LINE + FULL.replace(GREETING, "").replace(NEXT_LINE, "")
EARLY_FAREWELL = FULL.replace(FAREWELL, "").replace(PAYMENT_LINE, FAREWELL + PAYMENT_LINE) + "М: Хорошо.\nК: Ага.\n"


@pytest.mark.parametrize("text, stage, code", [
    (EARLY_PAYMENT, "payment_timing", "stage_before"),     # a payment question before the request was heard
    (EARLY_NEXT, "next_step", "stage_before"),             # next-step lines straight after the greeting
    (EARLY_FAREWELL, "farewell", "stage_not_at_end"),      # a farewell formula in a call that goes on
])
def test_a_line_counts_only_where_it_does_its_job(text, stage, code):
    from compliance.reports import build_call_page
    from compliance.reports.render import make_environment, render_call_page

    r = _score(text, _bundled())
    found = _stage(r, stage)
    assert not found.present and [m.code for m in found.notes] == [code]
    page = build_call_page(CallRecord(call_id="t", file="t.txt", manager="m", result=r,
                                      transcript=parse_text_transcript(text)))
    view = next(s for s in page.stages if s.id == stage)
    assert [n.code for n in view.notes] == [code]
    for lang, words in (("ru", "не засчитано"), ("en", "not credited")):
        html = render_call_page(page, make_environment(lang))
        assert html.count(words) == 1, lang


def test_evidence_is_the_managers_whole_sentence_with_its_start():
    segments = [
        Segment(start=0.0, end=3.0, speaker="manager", text="Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер."),
        Segment(start=3.0, end=4.0, speaker="client", text="Да, слушаю вас внимательно."),
        Segment(start=4.0, end=10.0, speaker="manager",
                text="Хорошо. Ну и скажите, вам удобнее оплатить на этой неделе или на следующей?"),
        Segment(start=10.0, end=12.0, speaker="client", text="На следующей, наверное, так будет удобнее."),
    ]
    r = score_call(Transcript(source="t", segments=segments), _bundled(), "newcomer")
    line = _stage(r, "payment_timing").lines[1]
    assert line.matched == "Ну и скажите, вам удобнее оплатить на этой неделе или на следующей?"
    assert line.start is not None and 4.0 < line.start < 5.5  # where the sentence starts, not its matched words


def test_stems_are_the_same_from_several_threads_at_once():
    """The batch scores calls on threads: one shared Snowball stemmer garbled stems (and raised IndexError)."""
    import threading

    from compliance.text.normalize import stem

    words = ["продавать", "менеджерами", "подскажите", "сотрудниками", "удобнее", "компаниями", "звонить",
             "предложение", "оплатить", "договоримся"]
    expected = {w: stem(w) for w in words}
    wrong: list[tuple[str, str]] = []

    def run(offset: int) -> None:
        for i in range(4000):
            word = words[(i + offset) % len(words)]
            try:
                got = stem(word)
            except IndexError as exc:
                wrong.append((word, repr(exc)))
                return
            if got != expected[word]:
                wrong.append((word, got))

    threads = [threading.Thread(target=run, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wrong == []


@pytest.mark.parametrize("said", ["Оставьте сообщения после сигнала", "Абонента временно недоступна",
                                  "Вы позвонили на голосовую почту"])
def test_a_voicemail_phrase_in_another_form_of_its_words_is_still_heard(said):
    from compliance.scoring.connection import voicemail_marker

    assert voicemail_marker(said) is not None                # the recogniser's inflection, not the phrase's
    for plain in ("Оставьте заявку, мы перезвоним", "Я после обеда на связи", "Номер заказа у вас есть?"):
        assert voicemail_marker(plain) is None
