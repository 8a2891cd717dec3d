"""An allusion is not a stage (issue 19, point 2): the introduction, the offer's place, a missing stage, the
branch beside a clear offer, paying vs the budget, a next step's action, evidence that stands in, the report."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from blind import format_blind, load_blind_sets, score_blind, score_words_only

from compliance.resources import default_script_path
from compliance.scoring.acts import Act, act_done, drop, introduces
from compliance.scoring.result import Found
from compliance.scoring.score import score_call
from compliance.scoring.scorer import LineEvidence
from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import parse_text_transcript

ROOT = Path(__file__).resolve().parent.parent

NEEDS = ("М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Нужен сайт для магазина.\n"
         "М: Какие сроки для вас важны?\nК: К марту.\nМ: На какой бюджет вы рассчитываете?\nК: Тысяч сто.\n")
OFFER = ("М: Да, мы можем это сделать для вас. Мы уже делали похожие проекты, и наши клиенты довольны результатом. "
         "Я подготовлю для вас предложение с ценой и сроками.\nК: Хорошо.\n")
SALE = ("М: Когда вы планируете оплату? Оплату будете вносить сразу или частями?\nК: Частями.\n"
        "М: Давайте договоримся о следующем шаге. Я вышлю вам реквизиты для оплаты.\nК: Годится.\n")
FAREWELL = "М: Спасибо за разговор, Анна! Всего доброго, до свидания!\nК: До свидания.\n"
INTRODUCED = ("М: Добрый день, Анна! Меня зовут Олег, компания «Смарт Мейкер». Вам удобно сейчас говорить?\n"
              "К: Да.\n")


@pytest.fixture(scope="module")
def default_script() -> SalesScript:
    """The bundled default script: its stages declare their acts (the frozen copy of the unit tests does not)."""
    return load_script(default_script_path())


def _score(text: str, script: SalesScript, level: str = "newcomer"):
    return score_call(parse_text_transcript(text), script, level)


def _stage(result, stage_id):
    return next(s for s in result.stages if s.id == stage_id)


@pytest.mark.parametrize("text, expected", [
    ("Меня зовут Олег, компания «Смарт Мейкер».", True),
    ("Это Семён, «Аква-Сервис».", True),
    ("Максим Рябов, «АйТи Сервис Групп».", True),
    ("Беспокоит Ирина по вашей заявке.", True),
    ("Алло, Игорь, добрый день! Как дела? Как бизнес?", False),
    ("Тут тема огонь: таргет во «ВКонтакте» под ключ.", False),   # a quote after a preposition is no name
    ("Вы же за «Динамо» болеете?", False),
    ("Из отдела продаж.", False),
])
def test_an_introduction_says_who_is_calling_and_from_where(text, expected):
    assert introduces(text) is expected


def test_a_greeting_without_the_introduction_is_no_greeting_stage(default_script):
    bare = "М: Алло, Анна, добрый день! Как дела?\nК: А вы кто?\nМ: Это по поводу заявки на сайт.\nК: Ясно.\n"
    r = _score(bare + NEEDS + OFFER + SALE + FAREWELL, default_script)
    greeting = _stage(r, "greeting")
    assert not greeting.present
    assert [n.code for n in greeting.notes] == ["stage_no_introduction"]
    asked = "М: Алло, Анна, добрый день!\nК: А вы кто?\nМ: Это Олег, студия «Смарт Мейкер».\nК: Ясно.\n"
    assert _stage(_score(asked + NEEDS + OFFER + SALE + FAREWELL, default_script), "greeting").present


def test_a_newcomer_who_skips_a_required_stage_is_below_the_band_however_high(default_script):
    no_greeting = "М: Алло, это по поводу заявки.\nК: А вы кто?\nМ: Из отдела продаж.\nК: Ясно.\n"
    r = _score(no_greeting + NEEDS + OFFER + SALE + FAREWELL, default_script)
    assert r.adherence >= 85 and r.verdict.value == "below"
    assert "required_missing" in [n.code for n in r.verdict_notes]
    assert _score(INTRODUCED + NEEDS + OFFER + SALE + FAREWELL, default_script).verdict.value != "below"


def test_a_farewell_formula_mid_call_is_not_the_farewell_and_the_page_says_so(default_script):
    mid = INTRODUCED + NEEDS + OFFER + FAREWELL.replace("К: До свидания.", "К: Подождите, а как платить?") + SALE
    r = _score(mid + "М: Завтраки входят в стоимость.\nК: Ладно, мне бежать надо.\n", default_script)
    farewell = _stage(r, "farewell")
    assert not farewell.present and "stage_not_at_end" in [n.code for n in farewell.notes]
    assert r.verdict.value == "below"


def test_a_pitch_before_the_client_said_a_word_is_no_offer(default_script):
    r = _score("М: Алло, здравствуйте! У нас кейсы — пушка, салоны красоты с нами в три раза выросли.\n"
               "К: Кто это? Мне это не интересно.\nМ: Жаль, ну всего хорошего.\nК: До свидания.\n",
               default_script, "experienced")
    offer = _stage(r, "offer")
    assert not offer.present and "stage_before_client" in [n.code for n in offer.notes]
    assert not _stage(r, "greeting").present


def test_a_refusal_word_beside_a_clearly_read_offer_is_not_the_branch(default_script):
    offer = ("М: Не скажу, что это не наш профиль — это как раз наш профиль. Я подготовлю для вас предложение с "
             "ценой и сроками.\nК: Наконец-то.\n")
    r = _score(INTRODUCED + NEEDS + offer + SALE + FAREWELL, default_script, "experienced")
    branch = _stage(r, "cannot_deliver")
    assert not branch.branch and branch.branch_why == "competing"
    assert all(_stage(r, s).applies and _stage(r, s).present for s in ("offer", "payment_timing", "next_step"))


@pytest.mark.parametrize("act, text, done", [
    (Act.PAYMENT, "С какого числа нужно начать и на какую сумму в месяц рассчитываете?", False),  # the budget
    (Act.PAYMENT, "В какие сроки бухгалтерия сможет перечислить деньги?", True),
    (Act.PAYMENT, "Когда сможете рассчитаться за первый месяц?", True),
    (Act.NEXT_STEP, "Потом план работ.", False),                  # a fragment of the offer, no step
    (Act.NEXT_STEP, "Завтра пришлю договор, в пятницу наберу.", True),
])
def test_an_act_is_done_not_alluded_to(act, text, done):
    assert act_done(act, text) is done


def test_dropped_evidence_gives_way_to_the_next_sentence_that_could_stand_for_the_line():
    second = LineEvidence(found=Found.MEANING, meaning=88.0, matched="второе")
    line = LineEvidence(found=Found.MEANING, meaning=91.0, matched="первое", fallbacks=[second])
    drop(line)
    assert line.said and line.matched == "второе" and line.meaning == 88.0 and line.fallbacks == []
    drop(line)
    assert not line.said and line.matched is None
    line = LineEvidence(found=Found.MEANING, meaning=91.0, matched="первое", fallbacks=[second])
    drop(line, all_of_it=True)
    assert not line.said


def test_the_report_takes_any_labelled_folder_and_lists_each_disagreement(tmp_path):
    (tmp_path / "01_call.txt").write_text(INTRODUCED + NEEDS + OFFER + FAREWELL, encoding="utf-8")
    stages = {"greeting": "verbatim", "needs": "verbatim", "offer": "verbatim", "payment_timing": "verbatim",
              "next_step": "absent", "cannot_deliver": "absent", "farewell": "verbatim"}
    labels = {"calls": {"01_call.txt": {"kind": "missing", "connected": True, "level": "newcomer",
                                        "stages": stages, "newcomer_meets_band": False}}}
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels, allow_unicode=True), encoding="utf-8")
    sets = load_blind_sets(tmp_path)
    assert [s.id for s, _ in sets] == ["sales_call"]
    report = format_blind({"words only": score_blind(sets, score_words_only)})
    assert "sales_call/payment_timing" in report and "precision" in report
    assert "sales_call/01_call.txt  payment_timing  label verbatim  ours absent" in report
    assert "newcomer verdict agreement" in report and "absent called absent" in report


def test_the_report_names_a_folder_it_cannot_read(tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import accuracy_report
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    assert accuracy_report.main(["--blind", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
