"""An allusion is not a stage (issue 19, point 2), scorer 7: a stage's substance in the turn that says it, an
offer taken back, near wording that must do the act, a question that tells, a counter-question."""
from __future__ import annotations

import pytest

from compliance.scoring.acts import Act, act_done, is_question
from compliance.scoring.score import score_call
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import parse_text_transcript

OPENING = ("М: Добрый день, Марина! Меня зовут Денис, компания «Склад Плюс». Вам удобно сейчас говорить?\nК: Да.\n"
           "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Стеллажи на склад, триста метров.\n"
           "М: Какие сроки для вас важны?\nК: К июню.\nМ: На какой бюджет вы рассчитываете?\nК: Тысяч четыреста.\n")
OFFER = ("М: Да, мы можем это сделать для вас. Мы уже делали похожие проекты, и наши клиенты довольны результатом. "
         "Я подготовлю для вас предложение с ценой и сроками.\nК: Хорошо.\n")
PAYMENT = "М: Когда вы планируете оплату?\nК: В мае.\n"
FAREWELL = "М: Спасибо за разговор, Марина! Всего доброго, до свидания!\nК: До свидания.\n"


def _stage(text: str, script: SalesScript, stage_id: str):
    result = score_call(parse_text_transcript(text), script, "newcomer")
    return next(s for s in result.stages if s.id == stage_id)


def test_a_next_step_cut_off_before_its_action_is_no_next_step(script):
    cut = "М: Давайте договоримся о следующем шаге. Я пришлю вам дог…\nК: Ой, мне пора, напишите на почту!\n"
    stage = _stage(OPENING + OFFER + PAYMENT + cut + FAREWELL, script, "next_step")
    assert not stage.present
    assert "stage_no_substance" in [n.code for n in stage.notes]
    whole = "М: Давайте договоримся о следующем шаге. Я пришлю вам договор завтра.\nК: Хорошо.\n"
    assert _stage(OPENING + OFFER + PAYMENT + whole + FAREWELL, script, "next_step").present


def test_a_company_pitch_is_no_offer_and_a_commitment_is(script):
    pitch = ("М: Мы на рынке пятнадцать лет, у нас свой цех и триста постоянных заказчиков по всей области.\n"
             "К: Понятно.\n")
    assert not _stage(OPENING + pitch + FAREWELL, script, "offer").present
    answer = "М: Такие стеллажи мы ставим постоянно, к июню сделаем и смонтируем.\nК: Отлично.\n"
    assert _stage(OPENING + answer + FAREWELL, script, "offer").present


def test_an_offer_taken_back_while_the_sale_stops_is_withdrawn(script):
    back = "М: К июню? Нет, к такому сроку не успеем, производство занято. Не возьмёмся.\nК: Жаль.\n"
    stage = _stage(OPENING + OFFER + back + FAREWELL, script, "offer")
    assert not stage.present
    assert "stage_retracted" in [n.code for n in stage.notes]
    # A "no" to a side detail while the sale goes on (payment, next step after it) withdraws nothing.
    side = ("М: Монтаж в выходные не сделаем, только в будни.\nК: Ладно.\n" + PAYMENT
            + "М: Я отправлю вам счёт на оплату сегодня.\nК: Хорошо.\n")
    assert _stage(OPENING + OFFER + side + FAREWELL, script, "offer").present


def test_near_wording_must_do_the_act(script):
    look_alike = "М: Вам удобнее доставку на этой неделе или на следующей?\nК: На следующей.\n"
    assert not _stage(OPENING + OFFER + look_alike + FAREWELL, script, "payment_timing").present
    paying = "М: Вам удобнее оплатить на этой неделе или на следующей?\nК: На следующей.\n"
    assert _stage(OPENING + OFFER + paying + FAREWELL, script, "payment_timing").present


def test_a_counter_question_takes_its_topic_from_the_clients_question(script):
    asked = "М: Всё сделаем.\nК: А платить когда нужно?\n"
    counter = "М: А вы сами когда планируете — сразу или после монтажа?\nК: Сразу.\n"
    assert _stage(OPENING + OFFER + asked + counter + FAREWELL, script, "payment_timing").present
    # The same question after a client who asked nothing of paying asks about something else.
    assert not _stage(OPENING + OFFER + "М: Всё сделаем.\nК: Хорошо.\n" + counter + FAREWELL, script,
                      "payment_timing").present


@pytest.mark.parametrize("text, asks", [
    ("Многие так и платят, кто сразу, кто частями.", False),   # tells: the question word does not open it
    ("Скажите, пожалуйста, когда удобно оплатить.", True),
    ("а когда вам удобно внести оплату", True),
    ("по оплате у нас предоплата вы когда сможете внести", True),   # no punctuation at all: recognised speech
])
def test_a_question_word_opens_a_question(text, asks):
    assert is_question(text) is asks


@pytest.mark.parametrize("act, text, done", [
    (Act.NEEDS, "Стеллажи ещё актуальны?", False),                # checks the lead, asks nothing of the task
    (Act.NEEDS, "Какие стеллажи нужны и на какой вес?", True),
    (Act.PAYMENT, "Многие так и платят, кто сразу, кто частями.", False),
])
def test_an_act_is_done_not_alluded_to(act, text, done):
    assert act_done(act, text) is done
