"""The meaning scorer: finds script lines said in the manager's own words, by stage competition.

Raw cosine similarity does not tell a stage said in own words from an absent one: every sentence of a sales
call is somewhat close to every line of a sales script. What does tell them apart is competition. Each sentence
the manager said is compared with every line of every stage (its alternatives and ``examples:``) and with a
background of ordinary talk (``data/background.ru.yaml``). The sentence is evidence for the stage it resembles
most, and only when it beats the best other stage and the background by ``meaning_margin``; within that stage it
is evidence for the line it resembles most.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import numpy as np
import yaml

from compliance.resources import lexicon_path
from compliance.scoring.acts import act_done
from compliance.scoring.embeddings import (
    Embedder,
    Sentence,
    load_embedder,
    split_sentences,
)
from compliance.scoring.result import Found, Span
from compliance.scoring.scorer import CallText, LineEvidence, MatchOptions
from compliance.scoring.script import SalesScript
from compliance.scoring.turns import cut_off_from, time_at
from compliance.scoring.vector_cache import embed_cached

_BACKGROUND_FILE = lexicon_path("background.ru.yaml")
# Placeholders become ordinary names, so that a line reads like something a person says.
# A one-word sentence («Уложимся.», «Хорошо.») is too little to say which stage it belongs to.
MIN_WORDS = 2
_FILL = {"{client}": "Анна", "{manager}": "Ольга", "{company}": "Смарт Мейкер"}


@lru_cache(maxsize=1)
def background_sentences() -> tuple[str, ...]:
    """Ordinary talk that belongs to no stage."""
    return tuple(yaml.safe_load(_BACKGROUND_FILE.read_text(encoding="utf-8"))["sentences"])


def _fill(text: str) -> str:
    for placeholder, name in _FILL.items():
        text = text.replace(placeholder, name)
    return text


@dataclass(frozen=True)
class _Prototypes:
    """Every phrasing of every line, with its stage and line index and its vector."""

    stage: np.ndarray      # (P,) stage index of each phrasing
    line: np.ndarray       # (P,) line index (within its stage)
    vectors: np.ndarray    # (P × dim)
    background: np.ndarray  # (B × dim)
    n_stages: int


_prototype_cache: dict[tuple[str, int], _Prototypes] = {}


def _phrasings(script: SalesScript) -> tuple[list[int], list[int], list[str]]:
    stage_of, line_of, texts = [], [], []
    for s, stage in enumerate(script.stages):
        for i, (alternatives, examples) in enumerate(zip(stage.alternatives(), stage.examples())):
            for text in alternatives + examples:
                stage_of.append(s)
                line_of.append(i)
                texts.append(_fill(text))
    return stage_of, line_of, texts


def prototype_texts(script: SalesScript) -> list[str]:
    """Every text the meaning scorer embeds for a script (its lines, alternatives, team examples, and the
    background), so a batch can keep their vectors in the history instead of embedding them on every run."""
    return _phrasings(script)[2] + list(background_sentences())


def _prototypes(script: SalesScript, embedder: Embedder) -> _Prototypes:
    """The script's phrasings embedded once per script content (hash) and embedder."""
    key = (script.content_hash(), id(embedder))
    cached = _prototype_cache.get(key)
    if cached is None:
        stage_of, line_of, texts = _phrasings(script)
        cached = _Prototypes(np.array(stage_of), np.array(line_of), embed_cached(embedder, texts),
                             embed_cached(embedder, list(background_sentences())), len(script.stages))
        _prototype_cache[key] = cached
    return cached


def warm_prototypes(scripts: "list[SalesScript]", embedder: Embedder) -> None:
    """Embed (or read from the disk cache) the phrasings of these scripts ahead of the first call."""
    for script in scripts:
        _prototypes(script, embedder)


def manager_sentences(call: CallText) -> list[Sentence]:
    """The manager's sentences, split once per call."""
    sentences = call.cache.get("sentences")
    if sentences is None:
        sentences = call.cache["sentences"] = [
            s for index, seg in enumerate(call.segments) if seg.speaker in call.speakers
            for cut in [cut_off_from(call.segments, index, call.speakers)]
            for s in split_sentences(seg.text, index) if cut is None or s.char_start < cut]
    return sentences  # type: ignore[return-value]


@dataclass(frozen=True)
class Similarities:
    """How close each of the manager's sentences is to each stage, computed once per call (the meaning scorer
    and the act verifier both read it)."""

    sentences: list[Sentence]
    vectors: np.ndarray     # sentences × dim
    protos: _Prototypes
    sims: np.ndarray        # sentences × phrasings
    per_stage: np.ndarray   # sentences × stages: the closest phrasing of each stage
    background: np.ndarray  # sentences: the closest sentence of ordinary talk


def stage_similarities(call: CallText, script: SalesScript, embedder: Embedder) -> Similarities:
    """The manager's sentences against every stage's phrasings and the background, cached in the call."""
    key = f"similarities:{script.content_hash()}"
    cached = call.cache.get(key)
    if isinstance(cached, Similarities):
        return cached
    sentences = manager_sentences(call)
    protos = _prototypes(script, embedder)
    vectors = embedder.embed([s.text for s in sentences])
    sims = vectors @ protos.vectors.T
    per_stage = np.full((len(sentences), protos.n_stages), -1.0, dtype=np.float32)
    for s in range(protos.n_stages):
        columns = protos.stage == s
        if columns.any() and len(sentences):
            per_stage[:, s] = sims[:, columns].max(axis=1)
    background = (vectors @ protos.background.T).max(axis=1) if len(protos.background) and len(sentences) \
        else np.full(len(sentences), -1.0)
    similar = Similarities(sentences, vectors, protos, sims, per_stage, background)
    call.cache[key] = similar
    return similar


@dataclass(frozen=True)
class MeaningMatch:
    """One manager sentence recognised as one script line by meaning."""

    sentence: Sentence
    stage: int
    line: int
    cosine: float          # to the line's closest phrasing
    margin: float          # over the best other stage or the background


def _does_act(script: SalesScript, stage: int, text: str) -> bool:
    act = script.stages[stage].act
    return act is None or act_done(act, text)


def match_sentences(call: CallText, script: SalesScript, opts: MatchOptions,
                    embedder: Embedder) -> list[MeaningMatch]:
    """Every manager sentence that wins a stage by the margin, with the line it is closest to."""
    sentences = manager_sentences(call)
    if not sentences:
        return []
    similar = stage_similarities(call, script, embedder)
    protos, sims, per_stage, background = similar.protos, similar.sims, similar.per_stage, similar.background
    matches = []
    for k, sentence in enumerate(sentences):
        if len(sentence.text.split()) < MIN_WORDS:
            continue
        # A stage whose act the sentence does not do is neither its stage nor a rival: «Когда поговорите?» is
        # no payment question, so it may still be the greeting's permission question.
        ranked = [int(s) for s in np.argsort(-per_stage[k]) if _does_act(script, int(s), sentence.text)]
        if not ranked:
            continue
        best = ranked[0]
        rival = max(float(per_stage[k, ranked[1]]) if len(ranked) > 1 else -1.0, float(background[k]))
        margin = float(per_stage[k, best]) - rival
        if margin < opts.meaning_margin:
            continue
        columns = np.flatnonzero(protos.stage == best)
        top = columns[int(np.argmax(sims[k, columns]))]
        matches.append(MeaningMatch(sentence, best, int(protos.line[top]), float(sims[k, top]), margin))
    return matches


class MeaningScorer:
    """Finds lines said in the manager's own words, by sentence embeddings and stage competition."""

    name = "meaning"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def score_lines(self, call: CallText, script: SalesScript, opts: MatchOptions) -> list[list[LineEvidence]]:
        evidence = [[LineEvidence() for _ in stage.lines] for stage in script.stages]
        candidates: dict[tuple[int, int], list[LineEvidence]] = {}
        for match in match_sentences(call, script, opts, self.embedder):
            sentence, seg = match.sentence, call.segments[match.sentence.turn]
            candidates.setdefault((match.stage, match.line), []).append(LineEvidence(
                found=Found.MEANING, meaning=round(match.cosine * 100, 1), matched=sentence.text,
                text=script.stages[match.stage].alternatives()[match.line][0],
                span=Span(turn=sentence.turn, char_start=sentence.char_start, char_end=sentence.char_end,
                          start=time_at(seg, sentence.char_start)),
                end=time_at(seg, sentence.char_end)))
        for (stage, line), found in candidates.items():
            # The closest sentence stands for the line; the others wait in case it is dropped.
            found.sort(key=lambda x: -(x.meaning or 0.0))
            best = found[0]
            best.fallbacks = found[1:]
            evidence[stage][line] = best
        return evidence


def meaning_scorer() -> Optional[MeaningScorer]:
    """The meaning scorer, or ``None`` when the embedding engine cannot load here."""
    embedder = load_embedder()
    return MeaningScorer(embedder) if embedder is not None else None
