"""Script-gap mining: how managers really say each script line, across the stored history.

For every line of a script, the manager sentences that were recognised as that line by meaning (or through a
cue) are collected from the stored results, grouped by meaning (sentences whose embeddings are close fall into
one group) and counted, with the managers who say them. Lines nobody says in any form come first: those are
the lines a lead should rewrite or drop; the biggest groups are candidates for the line's ``examples:``.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Callable, Optional

import numpy as np
from pydantic import BaseModel, Field

from compliance.scoring.embeddings import MODEL_ID, Embedder, load_embedder
from compliance.scoring.result import CallRecord, Found
from compliance.scoring.script import SalesScript, derived_line_id

# Two sentences whose cosine reaches this say the same thing for a lead reading the list.
GROUP_SIMILARITY = 0.93


class PhrasingGroup(BaseModel):
    """Sentences that say the same thing, the most frequent first."""

    example: str
    count: int                       # times said
    calls: int
    managers: list[str]
    variants: list[str] = Field(default_factory=list)   # other wordings in the group (a few)


class LinePhrasings(BaseModel):
    stage_id: str
    line_id: str = ""                # the line's stable id: results of every script version are counted by it
    stage_title: str
    line: str                        # the line's first alternative
    calls: int                       # connected calls scored against the script where the stage applies
    verbatim: int                    # calls in which the line was said in the script's words
    own_words: int                   # calls in which it was said in own words (meaning or cue)
    groups: list[PhrasingGroup] = Field(default_factory=list)

    @property
    def never_said(self) -> bool:
        return self.verbatim == 0 and self.own_words == 0


class ScriptPhrasings(BaseModel):
    script_id: str
    script_title: str
    calls: int
    meaning_checked: bool = True     # False: sentences could not be grouped by meaning (one group per wording)
    lines: list[LinePhrasings]


def _group(sentences: list[tuple[str, str, str]], embedder: Optional[Embedder]) -> list[PhrasingGroup]:
    """Greedy grouping by meaning of (sentence, manager, call) triples."""
    by_text: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text, manager, call in sentences:
        by_text[text].append((manager, call))
    texts = sorted(by_text, key=lambda t: (-len(by_text[t]), t))
    vectors = embedder.embed(texts) if embedder is not None and texts else None
    groups: list[list[int]] = []
    for i in range(len(texts)):
        for members in groups:
            if vectors is not None and float(vectors[members[0]] @ vectors[i]) >= GROUP_SIMILARITY:
                members.append(i)
                break
        else:
            groups.append([i])
    out = []
    for members in groups:
        said = [pair for i in members for pair in by_text[texts[i]]]
        out.append(PhrasingGroup(
            example=texts[members[0]], count=len(said), calls=len({c for _, c in said}),
            managers=sorted({m for m, _ in said}), variants=[texts[i] for i in members[1:6]]))
    return sorted(out, key=lambda g: (-g.count, g.example))


def _result_line_ids(record: CallRecord, script: SalesScript,
                     versions: Optional[Callable[[str], Optional[dict[str, list[str]]]]]) -> dict[str, list[str]]:
    """Each stage's line ids in the script version a call was scored with (else derived from the lines' text)."""
    result = record.result
    known = versions(result.script_hash) if versions else None
    if known is None and result.script_hash == script.content_hash():
        known = script.line_ids()
    return known or {st.id: [derived_line_id(ln.text) for ln in st.lines] for st in result.stages}


def mine_phrasings(records: list[CallRecord], script: SalesScript, *, since: Optional[dt.date] = None,
                   vectors: Optional[dict[str, np.ndarray]] = None,
                   versions: Optional[Callable[[str], Optional[dict[str, list[str]]]]] = None) -> ScriptPhrasings:
    """How each line of ``script`` was said in the stored calls scored against it, line by stable id (a call
    scored with an older version counts for the line with the same id, wherever it stands now).

    Args:
        records: stored calls (any script; those of other scripts are skipped).
        script: the script whose lines are listed (its newest version).
        since: only calls on or after this date.
        vectors: stored sentence embeddings, so grouping embeds only sentences never seen.
        versions: script hash → stage id → line ids of a stored version (``Store.script_line_ids``).
    """
    embedder = load_embedder()
    if embedder is not None and vectors:
        embedder.remember(vectors)
    lines = {(st.id, line_id): LinePhrasings(stage_id=st.id, line_id=line_id, stage_title=st.title, line=alts[0],
                                             calls=0, verbatim=0, own_words=0)
             for st in script.stages for line_id, alts in zip(st.line_ids(), st.alternatives())}
    said: dict[tuple[str, str], list[tuple[str, str, str]]] = defaultdict(list)
    calls = 0
    for record in records:
        result = record.result
        if result.script_id != script.id or not result.connected:
            continue
        if since and (not record.date or record.date < since.isoformat()):
            continue
        calls += 1
        ids = _result_line_ids(record, script, versions)
        for stage in result.stages:
            stage_ids = ids.get(stage.id, [])
            for i, line in enumerate(stage.lines):
                entry = lines.get((stage.id, stage_ids[i])) if i < len(stage_ids) else None
                if entry is None or not stage.applies:
                    continue
                entry.calls += 1
                if line.found is Found.VERBATIM:
                    entry.verbatim += 1
                elif line.found in (Found.MEANING, Found.CUE) and line.matched:
                    entry.own_words += 1
                    said[(stage.id, stage_ids[i])].append((line.matched, record.manager_name or record.manager,
                                                record.call_id))
    for key, entry in lines.items():
        entry.groups = _group(said[key], embedder)
    ordered = sorted(lines.values(), key=lambda e: (not e.never_said,))  # stable: script order otherwise
    return ScriptPhrasings(script_id=script.id, script_title=script.title, calls=calls,
                           meaning_checked=embedder is not None, lines=ordered)


def stored_vectors_for(records: list[CallRecord], store: object) -> dict[str, np.ndarray]:
    """The stored embeddings of every own-words sentence of these calls."""
    texts = {line.matched for r in records for s in r.result.stages for line in s.lines
             if line.matched and line.found in (Found.MEANING, Found.CUE)}
    return store.load_embeddings(MODEL_ID, texts)  # type: ignore[attr-defined]
