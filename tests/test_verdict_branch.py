"""A branch is the refusal of the client's request AND the question about working together later, after the needs
(issue 19, point 1); the sale going on after a "no" means a side detail was refused; a payment question before the
offer is not the stage (point 2)."""
from __future__ import annotations

from pathlib import Path

import pytest

from compliance.scoring.acts import asks_later, refuses_request
from compliance.scoring.score import score_call
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import parse_text_transcript
from compliance.text.catalogue import text

GREETING = "М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?\nК: Да.\n"
NEEDS = ("М: Расскажите, пожалуйста, какую задачу вы хотите решить? Какие сроки для вас важны?\n"
         "К: Нужен мобильный банк с лицензией за неделю.\n")
FAREWELL = "М: Спасибо за уделённое время, Анна! Всего доброго, до свидания!\nК: До свидания.\n"
EXCUSED = ("offer", "payment_timing", "next_step")
BUNDLED = Path(__file__).resolve().parent.parent / "scripts_yaml" / "sales_call.ru.yaml"


def _score(text_: str, script, level: str = "newcomer"):
    return score_call(parse_text_transcript(text_), script, level)


def _stage(result, stage_id):
    return next(s for s in result.stages if s.id == stage_id)


def test_a_refusal_with_no_question_about_later_is_not_the_branch(default_script):
    refusal = "М: К сожалению, сейчас мы не сможем выполнить ваш запрос.\nК: Жаль.\n"
    r = _score(GREETING + NEEDS + refusal + FAREWELL, default_script)
    branch = _stage(r, "cannot_deliver")
    assert branch.branch is False and branch.branch_why == "no_follow_up" and not branch.applies
    assert all(_stage(r, x).applies and not _stage(r, x).present for x in EXCUSED)
    assert r.verdict == "below"
    assert any(n.code == "branch_not_taken_no_follow_up" for n in r.verdict_notes)
    assert "сотрудничестве в будущем" in text("branch_not_taken_no_follow_up", "ru")
    assert "in the future" in text("branch_not_taken_no_follow_up", "en")


def test_an_own_words_refusal_and_question_about_later_take_the_branch(default_script):
    own = ("М: Скажу честно: банковские приложения мы не делаем, лицензии у нас нет.\nК: Понятно.\n"
           "М: Если потом понадобится сайт или витрина, можно я буду держать вас в списке и напомню о себе?\n"
           "К: Давайте.\n")
    r = _score(GREETING + NEEDS + own + FAREWELL, default_script, "experienced")
    branch = _stage(r, "cannot_deliver")
    assert branch.branch is True and branch.applies and branch.present
    assert branch.lines[0].found != "absent" and "не делаем" in (branch.lines[0].matched or "")
    assert not any(_stage(r, x).applies for x in EXCUSED)


def test_a_refused_side_detail_while_the_sale_goes_on_is_not_the_branch(default_script):
    """No offer said word for word to compete with: the payment question and the next step after the "no" show the
    request itself was taken on."""
    side = ("М: Сделаем. А вот скидку, увы, дать не сможем. Если в будущем будут другие задачи, обратитесь к нам?\n"
            "К: Посмотрим.\n"
            "М: Оплату вы когда сможете внести, на этой неделе?\nК: В пятницу.\n"
            "М: Тогда счёт пришлю сегодня, а в пятницу утром позвоню.\nК: Хорошо.\n")
    r = _score(GREETING + NEEDS + side + FAREWELL, default_script, "experienced")
    branch = _stage(r, "cannot_deliver")
    assert branch.branch is False and branch.branch_why == "competing"
    assert _stage(r, "payment_timing").applies and _stage(r, "next_step").applies


def test_a_payment_question_before_the_offer_is_not_the_stage():
    """The bundled script names each stage's act (the frozen test copy predates acts)."""
    script = load_script(BUNDLED)
    early = "М: Когда вы планируете оплату?\nК: Так вы ещё не сказали, беретесь ли.\n"
    offer = ("М: Да, мы можем это сделать для вас. Я подготовлю для вас предложение с ценой и сроками.\nК: Хорошо.\n"
             "М: Давайте договоримся о следующем шаге. Я отправлю вам счёт на оплату сегодня.\nК: Жду.\n")
    r = _score(GREETING + NEEDS + early + offer + FAREWELL, script)
    payment = _stage(r, "payment_timing")
    assert not payment.present and any(n.code == "stage_before" for n in payment.notes)
    assert r.verdict == "below"
    again = "М: Когда вы планируете оплату?\nК: На следующей неделе.\n"
    r = _score(GREETING + NEEDS + early + offer + again + FAREWELL, script)
    assert _stage(r, "payment_timing").present    # asked again in its place: the stage is there


@pytest.mark.parametrize("sentence, later", [
    ("Если появятся задачи попроще, обратитесь к нам?", True),
    ("Можно я внесу вас в список и напомню о себе весной?", True),
    ("Будете держать нас в уме?", True),
    ("В понедельник позвоню, всё ли сходится?", False),        # the next step of this request
    ("Если понадобится уборка после ремонта, звоните, будем рады посотрудничать.", True),   # an invitation
    ("Мы давно работаем с такими клиентами.", False),             # neither asks nor invites
])
def test_a_question_about_later(sentence, later):
    assert asks_later(sentence) is later


@pytest.mark.parametrize("sentence, refuses", [
    ("Такие приложения мы не делаем.", True),
    ("Титан не печатаем и за него не возьмёмся.", True),
    ("Это мы сделаем за неделю.", False),
    ("Не подскажете, когда вам удобно оплатить?", False),
])
def test_a_refusal_of_the_request_in_own_words(sentence, refuses):
    assert refuses_request(sentence) is refuses


def test_a_side_refusal_and_keep_in_touch_at_the_goodbye_are_not_the_branch():
    """(The bundled script: its acts.) «Субботу не получится» answers a side question, the call goes on (other days agreed, a word about money),
    and «будем на связи» comes at the goodbye, three of the manager's turns later: no question about later follows
    the refusal, so the missing offer, payment question and next step are not excused (before, the branch was
    taken and the call was above the band). Said in the manager's next turn, the same words are the branch."""
    side = ("К: А можно одно занятие в субботу?\n"
            "М: Вот субботу не получится, по выходным тренеры у нас не выезжают, только будни.\n"
            "К: Ладно, будни тоже хорошо.\nМ: Вот и отлично.\nК: А с оплатой как?\n"
            "М: Оплата у нас гибкая, по деньгам потом разберёмся, это не главное. Счёт выставить недолго.\n"
            "К: А дальше что?\nМ: Ну, будем на связи. Как у вас там всё утрясётся, так и начнём.\nК: Поняла.\n")
    script = load_script(BUNDLED)
    r = _score(GREETING + NEEDS + side + FAREWELL, script, "experienced")
    branch = _stage(r, "cannot_deliver")
    assert branch.present and branch.branch is False and not branch.applies
    assert all(_stage(r, x).applies for x in EXCUSED) and r.verdict == "below"
    close = ("К: А можно одно занятие в субботу?\n"
             "М: Вот субботу не получится, по выходным тренеры у нас не выезжают, только будни.\n"
             "К: Жаль.\nМ: Ну, будем на связи. Как у вас там всё утрясётся, так и начнём.\nК: Поняла.\n")
    branch = _stage(_score(GREETING + NEEDS + close + FAREWELL, script, "experienced"), "cannot_deliver")
    assert branch.branch is True
