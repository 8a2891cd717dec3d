"""The verdict layer: branches need proof, forbidden phrases have a severity, order is a script setting."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from compliance.history.decisions import Decision, apply_decisions
from compliance.scoring.score import score_call
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import parse_text_transcript
from compliance.scoring.verdict import MINOR_PHRASE_CAP, MINOR_PHRASE_POINTS

ROOT = Path(__file__).resolve().parent.parent
PETROV_1020 = ROOT / "samples" / "day" / "2026-11-27" / "petrov" / "2026-11-27_10-20-55_petrov_380957778899.txt"

GREETING = "М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. Вам удобно сейчас говорить?\nК: Да.\n"
NEEDS = ("М: Расскажите, пожалуйста, какую задачу вы хотите решить? Какие сроки для вас важны?\n"
         "К: Нужен мобильный банк с лицензией за неделю.\n")
REFUSAL = ("М: К сожалению, сейчас мы не сможем выполнить ваш запрос. Хотели бы вы сотрудничать с нами в будущем?\n"
           "К: Да, можно.\n")
FAREWELL = "М: Спасибо за уделённое время, Анна! Всего доброго, до свидания!\nК: До свидания.\n"
OFFER = ("М: Да, мы можем это сделать для вас. Мы уже делали похожие проекты, и наши клиенты довольны результатом.\n"
         "К: Хорошо.\n")
SALE = ("М: Когда вы планируете оплату? Вам удобнее оплатить на этой неделе или на следующей?\nК: На следующей.\n"
        "М: Давайте договоримся о следующем шаге. Я отправлю вам счёт на оплату сегодня.\nК: Отлично.\n")


def _score(text: str, script: SalesScript, level: str = "newcomer"):
    return score_call(parse_text_transcript(text), script, level)


def _stage(result, stage_id):
    return next(s for s in result.stages if s.id == stage_id)


def _decision(stage: str, present: bool) -> Decision:
    return Decision(call_id="c", stage_id=stage, present=present, by="lead", at="2026-12-06T10:00:00")


# --- point 1: a branch needs proof -----------------------------------------------------------------------------

def test_branch_said_after_the_request_is_taken_and_said_in_words(default_script):
    r = _score(GREETING + NEEDS + REFUSAL + FAREWELL, default_script)
    branch = _stage(r, "cannot_deliver")
    assert branch.branch is True and branch.applies
    assert not any(_stage(r, x).applies for x in ("offer", "payment_timing", "next_step"))
    assert r.coverage == 100 and r.verdict in ("within", "above")
    assert any(n.code == "branch_taken" for n in r.verdict_notes)
    assert r.verdict_reasons[0].startswith("Ветка „") and "не оцениваются" in r.verdict_reasons[0]
    assert "«Когда клиент планирует оплату»" in r.verdict_reasons[0]


def test_refusal_before_the_client_told_the_request_is_not_the_branch(default_script):
    early = ("М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. К сожалению, сейчас мы не сможем "
             "выполнить ваш запрос.\nК: Какой запрос? Я ещё ничего не сказала.\n")
    r = _score(early + NEEDS + "М: Понятно, хорошо.\nК: Ладно.\n" + FAREWELL, default_script)
    branch = _stage(r, "cannot_deliver")
    assert branch.branch is False and branch.branch_why == "before_request" and not branch.applies
    assert all(_stage(r, x).applies and not _stage(r, x).present for x in ("offer", "payment_timing", "next_step"))
    assert r.verdict == "below"
    assert any(n.code == "branch_not_taken_before_request" for n in r.verdict_notes)


def test_refusing_a_side_detail_does_not_excuse_payment_and_next_step(default_script):
    """An offer said word for word competes with a refusal of a discount: the branch is not taken."""
    side = ("М: Скидок у нас нет, к сожалению, сейчас мы не сможем выполнить ваш запрос по скидке. "
            "Хотели бы вы сотрудничать с нами в будущем?\nК: Посмотрим.\n")
    r = _score(GREETING + NEEDS + OFFER + side + FAREWELL, default_script)
    branch = _stage(r, "cannot_deliver")
    assert branch.branch is False and branch.branch_why == "competing"
    assert _stage(r, "payment_timing").applies and not _stage(r, "payment_timing").present
    assert _stage(r, "next_step").applies and not _stage(r, "next_step").present
    assert r.verdict == "below"


def test_lead_overrides_a_branch_as_not_taken_and_back(default_script):
    machine = _score(GREETING + NEEDS + REFUSAL + FAREWELL, default_script)
    assert machine.verdict in ("within", "above")
    fixed = apply_decisions(machine, [_decision("cannot_deliver", False)])
    assert all(_stage(fixed, x).applies and not _stage(fixed, x).present
               for x in ("offer", "payment_timing", "next_step"))
    assert fixed.verdict == "below" and fixed.coverage < 100
    assert any(n.code == "branch_not_taken_by_lead" for n in fixed.verdict_notes)
    assert machine.verdict in ("within", "above")  # the machine's result is left as it was
    back = apply_decisions(fixed, [_decision("cannot_deliver", True)])
    assert not _stage(back, "offer").applies and back.coverage == 100


def test_lead_takes_a_branch_the_machine_did_not_prove(default_script):
    early = ("М: Добрый день, Анна! Меня зовут Олег, компания Смарт Мейкер. К сожалению, сейчас мы не сможем "
             "выполнить ваш запрос.\nК: Какой запрос? Я ещё ничего не сказала.\n")
    machine = _score(early + NEEDS + "М: Понятно, хорошо.\nК: Ладно.\n" + FAREWELL, default_script)
    fixed = apply_decisions(machine, [_decision("cannot_deliver", True)])
    assert not _stage(fixed, "offer").applies and _stage(fixed, "cannot_deliver").applies
    assert fixed.coverage == 100 and any(n.code == "branch_taken_by_lead" for n in fixed.verdict_notes)


@pytest.mark.parametrize("level", ["newcomer", "experienced"])
def test_sample_petrov_pitch_is_below_the_band_with_the_sale_stages_missing(level):
    """The bundled sample day's petrov 10:20 call: a slangy pitch, no questions, no price, no next step."""
    from compliance.resources import default_script_path
    from compliance.scoring.script_file import load_script
    from compliance.scoring.transcript import load_transcript

    r = score_call(load_transcript(PETROV_1020), load_script(default_script_path()), level)
    assert r.connected and r.verdict == "below"
    for stage_id in ("offer", "payment_timing", "next_step"):
        stage = _stage(r, stage_id)
        assert stage.applies and not stage.present, stage_id
    assert {s.id for s in r.missing_required} >= {"offer", "payment_timing", "next_step"}
    assert not _stage(r, "cannot_deliver").branch


# --- point 3: forbidden phrases have a severity --------------------------------------------------------------

SEVERE = {
    "id": "sev", "title": "t",
    "stages": [{"id": "greeting", "lines": ["Добрый день, {client}! Меня зовут {manager}."]},
               {"id": "needs", "lines": ["Расскажите, пожалуйста, какую задачу вы хотите решить?"]},
               {"id": "farewell", "lines": ["Спасибо за уделённое время, всего доброго!"]}],
    "forbidden": ["честно говоря",
                  {"phrase": "это не моя проблема", "severity": "critical"},
                  {"phrases": ["как бы", "типа"], "severity": "minor"}],
}
CLEAN = ("М: Добрый день, Анна! Меня зовут Олег.\nК: Здравствуйте.\n"
         "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Сайт нужен для магазина, недорогой.\n"
         "М: Понятно, посмотрим варианты.\nК: Хорошо, жду.\n"
         "М: Спасибо за уделённое время, всего доброго!\nК: До свидания.\n")


def test_plain_list_of_forbidden_phrases_is_still_valid_and_minor():
    script = SalesScript.model_validate({**SEVERE, "forbidden": ["не знаю", "как бы"]})
    assert script.forbidden_severities() == [("не знаю", "minor"), ("как бы", "minor")]


def test_critical_phrase_puts_a_perfect_call_below_the_band():
    script = SalesScript.model_validate(SEVERE)
    text = CLEAN.replace("М: Понятно, посмотрим варианты.", "М: Доставка — это не моя проблема, посмотрим варианты.")
    r = _score(text, script)
    assert r.adherence == 100 and r.verdict == "below"
    assert [(h.phrase, h.severity, h.turn) for h in r.forbidden] == [("это не моя проблема", "critical", 4)]
    note = next(n for n in r.verdict_notes if n.code == "critical_phrase")
    assert note.params["phrase"] == "это не моя проблема"
    assert "Критическая фраза «это не моя проблема»" in r.verdict_reasons[-1]
    assert "Critical phrase «это не моя проблема»" in note.text("en")


def test_minor_phrases_cost_fixed_points_up_to_a_cap():
    script = SalesScript.model_validate(SEVERE)
    twice = CLEAN.replace("М: Понятно, посмотрим варианты.", "М: Ну как бы понятно, типа посмотрим варианты.")
    r = _score(twice, script)
    assert r.script_adherence == 100 and r.forbidden_penalty == 2 * MINOR_PHRASE_POINTS
    assert r.adherence == 100 - 2 * MINOR_PHRASE_POINTS and r.verdict == "above"
    many = CLEAN.replace("М: Понятно, посмотрим варианты.",
                         "М: Ну как бы понятно, типа, как бы, честно говоря, типа посмотрим, как бы, типа варианты.")
    r = _score(many, script)
    assert r.forbidden_penalty == MINOR_PHRASE_CAP and r.adherence == 100 - MINOR_PHRASE_CAP
    assert r.verdict == "within"  # 85 against 85–90
    assert any(n.code == "minor_penalty" for n in r.verdict_notes)


def test_client_saying_a_critical_phrase_costs_nothing():
    script = SalesScript.model_validate(SEVERE)
    r = _score(CLEAN.replace("К: Хорошо, жду.", "К: Это не моя проблема, жду."), script)
    assert not r.forbidden and r.verdict == "above"


def test_bundled_scripts_mark_what_a_lead_never_accepts_as_critical():
    from compliance.resources import resource_dir
    from compliance.scoring.script_file import load_script

    for path in sorted(resource_dir("scripts_yaml").glob("*.yaml")):
        severities = dict(load_script(path).forbidden_severities())
        assert severities.get("это не моя проблема") == "critical", path.name
        assert severities.get("не знаю") == "minor" and severities.get("как бы") == "minor", path.name
    call = dict(load_script(resource_dir("scripts_yaml") / "sales_call.ru.yaml").forbidden_severities())
    assert {call[p] for p in ("вы меня не поняли", "я же вам говорил", "ничем не могу помочь")} == {"critical"}


# --- point 4: order is a script setting ------------------------------------------------------------------------

ORDERED = {
    "id": "ord", "title": "t",
    "stages": [{"id": "greeting", "lines": ["Добрый день, {client}! Меня зовут {manager}."]},
               {"id": "needs", "lines": ["Расскажите, пожалуйста, какую задачу вы хотите решить?"]},
               {"id": "offer", "lines": ["Я подготовлю для вас предложение с ценой и сроками."]},
               {"id": "farewell", "lines": ["Спасибо за уделённое время, всего доброго!"]}],
}
SWAPPED = ("М: Добрый день, Анна! Меня зовут Олег.\nК: Здравствуйте.\n"
           "М: Я подготовлю для вас предложение с ценой и сроками.\nК: Какое предложение?\n"
           "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Сайт для магазина.\n"
           "М: Спасибо за уделённое время, всего доброго!\nК: До свидания.\n")


@pytest.mark.parametrize("order, violations, penalty", [
    ("ignored", 0, 0.0), ("loose", 1, 0.0), ("strict", 1, 10.0), (25, 1, 25.0)])
def test_order_setting_decides_what_order_costs(order, violations, penalty):
    script = SalesScript.model_validate({**ORDERED, "order": order})
    r = _score(SWAPPED, script)
    assert len(r.order_violations) == violations and r.order_ok == (violations == 0)
    assert r.order_penalty == penalty and r.adherence == 100 - penalty


def test_page_says_when_order_changed_the_verdict():
    script = SalesScript.model_validate({**ORDERED, "order": "strict"})
    r = _score(SWAPPED, script)
    assert r.verdict == "within" and r.verdict_without_order == "above"  # 90 vs 100 against 85–90
    assert any(n.code == "order_changed_above" for n in r.verdict_notes)
    same = _score(SWAPPED, SalesScript.model_validate({**ORDERED, "order": 3}))
    assert same.verdict == "above" and same.verdict_without_order is None


def test_order_of_a_stage_the_lead_struck_out_costs_nothing():
    script = SalesScript.model_validate({**ORDERED, "order": "strict"})
    machine = _score(SWAPPED, script)
    fixed = apply_decisions(machine, [_decision("offer", False)])
    assert fixed.order_penalty == 0 and fixed.script_adherence == fixed.adherence


# --- bad input ---------------------------------------------------------------------------------------------------

def _check(tmp_path, data: dict) -> list[str]:
    from click.testing import CliRunner

    from compliance.cli import cli

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    res = CliRunner().invoke(cli, ["script", "check", str(path)])
    assert res.exit_code == 1
    return [ln for ln in res.output.splitlines() if ln.startswith(str(path))]


def test_script_check_points_at_a_branch_excluding_an_unknown_stage_or_itself(tmp_path):
    data = {**ORDERED, "stages": ORDERED["stages"] + [
        {"id": "nope", "required": False, "excludes": ["nope", "ofer"], "lines": ["Не сможем."]}]}
    lines = _check(tmp_path, data)
    written = (tmp_path / "bad.yaml").read_text(encoding="utf-8").splitlines()
    at = {word: written.index(f"  - {word}") + 1 for word in ("nope", "ofer")}  # where each entry is written
    assert len(lines) == 2
    assert f":{at['nope']}: stages.4.excludes.0: этап 'nope' исключает сам себя" in lines[0]
    assert f":{at['ofer']}: stages.4.excludes.1: этап 'nope' исключает (excludes) 'ofer', а такого этапа в " \
           "скрипте нет: напишите один из greeting, needs, offer, farewell или уберите его" in lines[1]


def test_script_check_names_an_unknown_severity_and_the_fix(tmp_path):
    lines = _check(tmp_path, {**ORDERED, "forbidden": ["не знаю", {"phrase": "типа", "severity": "fatal"}]})
    assert len(lines) == 1 and "forbidden.1.severity: неизвестная серьёзность 'fatal': напишите critical" in lines[0]
    assert lines[0].split(":")[1].isdigit()


def test_script_check_names_an_unknown_order(tmp_path):
    lines = _check(tmp_path, {**ORDERED, "order": "sometimes"})
    assert len(lines) == 1 and "order: неизвестный порядок 'sometimes': напишите strict, loose, ignored" in lines[0]


def test_a_phrase_listed_twice_is_an_error(tmp_path):
    lines = _check(tmp_path, {**ORDERED, "forbidden": ["типа", {"phrase": "Типа", "severity": "critical"}]})
    assert len(lines) == 1 and "указана дважды" in lines[0]


def test_json_schema_knows_severity_and_order():
    from compliance.scoring.script import script_schema

    text = str(script_schema())
    assert "critical" in text and "minor" in text and "strict" in text and "ignored" in text


def test_scorer_version_is_bumped():
    from compliance.scoring.score import SCORER_VERSION

    assert int(SCORER_VERSION.split("-")[0]) >= 5   # 4 branch proof / acts, 5 both: stored calls are re-scored


# --- the lead's override of a branch, through the history and the CLI; the pages say it in words ----------------

def test_cli_override_marks_a_branch_not_taken_and_the_stored_verdict_follows(tmp_path, default_script):
    from click.testing import CliRunner

    from compliance.cli import cli
    from compliance.history.schema import CallMeta
    from compliance.history.store import Store
    from compliance.review.users import add_user
    from compliance.scoring.result import CallRecord

    result = _score(GREETING + NEEDS + REFUSAL + FAREWELL, default_script)
    db = tmp_path / "history.db"
    with Store(db) as store:
        store.save_script(default_script)
        store.save_call(CallRecord(call_id="b1", file="b1.txt", manager="ivanova", date="2026-12-01",
                                   result=result), CallMeta(kind="transcript", score_key="k"))
        add_user(store, "lead", "lead", "a-long-lead-password-1")   # --by names a lead's account
    res = CliRunner().invoke(cli, ["review", "override", "b1", "cannot_deliver", "--absent", "--by", "lead",
                                   "--db", str(db)])
    assert res.exit_code == 0, res.output
    assert "cannot_deliver → ветка не пройдена" in res.output and "ниже коридора" in res.output
    with Store(db) as store:
        stored = store.call("b1")
    assert stored is not None and stored.result.verdict == "below"
    assert _stage(stored.result, "offer").applies and not _stage(stored.result, "offer").present
    assert stored.machine is not None and stored.machine.verdict in ("within", "above")


@pytest.mark.parametrize("lang, branch, critical", [
    ("ru", "Ветка „Не можем выполнить", "Критическая фраза «ничем не могу помочь»"),
    ("en", "Branch „Не можем выполнить", "Critical phrase «ничем не могу помочь»"),
])
def test_call_page_says_the_branch_and_the_critical_phrase_in_words(lang, branch, critical):
    from compliance.reports import build_call_page, render_call_page
    from compliance.reports.render import make_environment
    from compliance.resources import default_script_path
    from compliance.scoring.result import CallRecord
    from compliance.scoring.script_file import load_script

    default_script = load_script(default_script_path())  # the bundled script: its severities

    text = GREETING + NEEDS + REFUSAL.replace("К сожалению,", "Ничем не могу помочь. К сожалению,") + FAREWELL
    transcript = parse_text_transcript(text)
    result = score_call(transcript, default_script, "newcomer")
    assert result.verdict == "below" and _stage(result, "cannot_deliver").branch
    record = CallRecord(call_id="c", file="c.txt", manager="ivanova", result=result, transcript=transcript)
    html = render_call_page(build_call_page(record, default_script), make_environment(lang))
    assert branch in html and critical in html
    assert ("не оценивается: ветка" if lang == "ru" else "not scored: branch") in html
    assert ("критическая: звонок ниже коридора" if lang == "ru" else "critical: the call is below the band") in html


def test_a_chat_with_a_critical_phrase_is_below_the_band(tmp_path):
    """Severity works the same for chats: the bundled chat script marks «читайте на сайте» critical."""
    import json

    from click.testing import CliRunner

    from compliance.cli import cli

    chat = (ROOT / "tests" / "fixtures" / "chats" / "chat_marked.txt").read_text(encoding="utf-8")
    rude = tmp_path / "chat_rude.txt"
    rude.write_text(chat.replace("Для вашей задачи подойдёт", "Подробности читайте на сайте. Для вашей задачи подойдёт"),
                    encoding="utf-8")
    out = {}
    for path in (ROOT / "tests" / "fixtures" / "chats" / "chat_marked.txt", rude):
        res = CliRunner().invoke(cli, ["score", str(path), "--json"])
        assert res.exit_code == 0, res.output
        out[path.name] = json.loads(res.output)
    plain, bad = out["chat_marked.txt"], out["chat_rude.txt"]
    assert plain["channel"] == bad["channel"] == "chat" and not plain["forbidden"]
    assert bad["verdict"] == "below" and bad["forbidden_penalty"] == 0  # a critical phrase decides, not points
    assert [(h["phrase"], h["severity"]) for h in bad["forbidden"]] == [("читайте на сайте", "critical")]
    assert any("Критическая фраза «читайте на сайте»" in reason for reason in bad["verdict_reasons"])
