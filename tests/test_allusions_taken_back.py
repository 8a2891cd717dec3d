"""An allusion is not a stage (issue 19, point 2), scorer 10: a payment question about the delivery or the work,
a question line inside a statement that says "no", an offer taken back and never promised again (and the payment
question asked after it)."""
from __future__ import annotations

import pytest

from compliance.scoring.acts import Act, act_done

from .test_allusions_substance import _stage  # a stage of a call

OPENING = ("М: Добрый день, Олег! Меня зовут Ирина, компания «ПолДом». Вам удобно сейчас говорить?\nК: Да.\n"
           "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Наливной пол в цеху, восемьсот метров.\n"
           "М: Какие сроки для вас важны?\nК: До осени.\nМ: На какой бюджет вы рассчитываете?\nК: Около миллиона.\n")
OFFER = ("М: Да, мы можем это сделать для вас. Мы уже делали похожие проекты, и наши клиенты довольны результатом. "
         "Я подготовлю для вас предложение с ценой и сроками.\nК: Хорошо.\n")
PAYMENT = "М: Когда вы планируете оплату?\nК: В августе.\n"
NEXT = "М: Я отправлю вам счёт на оплату завтра утром.\nК: Хорошо.\n"
FAREWELL = "М: Спасибо за разговор, Олег! Всего доброго, до свидания!\nК: До свидания.\n"



@pytest.mark.parametrize("text, done", [
    ("Заливку будем делать сразу или частями?", False),           # the work, split: not paying
    ("Завоз материала вам удобнее сразу или частями?", False),
    ("Оплату будете вносить сразу или частями?", True),            # a payment word: paying
    ("Монтаж оплатите сразу или частями?", True),
    ("Рассчитаетесь сразу или частями?", True),
    ("Сразу всю сумму или частями?", True),                       # the sum split: paying
    ("Вам удобнее сразу или частями?", True),
])
def test_a_timing_question_about_the_work_is_not_the_payment_question(text, done):
    assert act_done(Act.PAYMENT, text) is done


def test_the_delivery_schedule_asked_is_no_payment_stage(script):
    delivery = ("М: Вам удобнее начать работы на этой неделе или на следующей?\nК: На следующей.\n"
                "М: Заливку будем делать сразу или частями?\nК: Частями.\n")
    assert not _stage(OPENING + OFFER + delivery + FAREWELL, script, "payment_timing").present
    assert _stage(OPENING + OFFER + PAYMENT + FAREWELL, script, "payment_timing").present


def test_a_question_line_inside_a_statement_that_says_no_is_not_asked(script):
    said_no = ("М: Пока не стану уточнять, когда вы планируете оплату, сначала расчёт.\nК: Да, конечно.\n")
    assert not _stage(OPENING + OFFER + said_no + FAREWELL, script, "payment_timing").present
    polite = "М: Не подскажете, когда вы планируете оплату?\nК: В августе.\n"  # politeness, not a refusal
    assert _stage(OPENING + OFFER + polite + FAREWELL, script, "payment_timing").present


def test_an_offer_taken_back_in_its_own_turn_and_never_promised_again_is_withdrawn(script):
    back = ("М: Да, мы можем это сделать для вас. Хотя стоп, восемьсот метров за лето я не могу вам этого обещать, "
            "бригада одна.\nК: Так беретесь или нет?\nМ: Я уточню у прораба. Когда вы планируете оплату?\n"
            "К: За что платить, если не ясно?\n")
    offer = _stage(OPENING + back + FAREWELL, script, "offer")
    assert not offer.present
    assert "stage_retracted" in [n.code for n in offer.notes]
    payment = _stage(OPENING + back + FAREWELL, script, "payment_timing")
    assert not payment.present
    assert "stage_after_retracted" in [n.code for n in payment.notes]


def test_a_side_refusal_followed_by_a_new_promise_keeps_the_offer(script):
    side = ("М: Да, мы можем это сделать для вас. Ночью, к сожалению, работать не сможем, сделаем днём за две "
            "недели.\nК: Ладно.\n")
    call = OPENING + side + PAYMENT + NEXT + FAREWELL
    assert _stage(call, script, "offer").present
    assert _stage(call, script, "payment_timing").present


def test_an_introduction_the_client_cut_off_is_not_said(script):
    cut = ("М: Добрый день, Олег! Меня зовут…\nК: Неважно, как вас зовут. Вы по полам? Быстрее.\n"
           "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Наливной пол в цеху.\n")
    greeting = _stage(cut + OFFER + FAREWELL, script, "greeting")
    assert not greeting.present
    assert "stage_no_introduction" in [n.code for n in greeting.notes]
    whole = cut.replace("Меня зовут…", "Меня зовут Ирина, компания «ПолДом».")
    assert _stage(whole + OFFER + FAREWELL, script, "greeting").present
