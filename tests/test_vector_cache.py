"""The phrasings' vectors cached on disk across processes and runs (issue 26): keyed by model and normalised text,
written atomically, safe with concurrent workers, off when asked, and a damaged file only costs a re-embedding."""
from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys

import numpy as np
import pytest

from compliance.scoring import vector_cache
from compliance.scoring.embeddings import Embedder

from .conftest import ROOT


class CountingEngine:
    """A stand-in for the meaning model: a vector from the text's bytes; counts what it was asked to embed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(self, texts):
        self.asked.extend(texts)
        out = []
        for text in texts:
            rng = np.random.default_rng(sum(" ".join(text.split()).encode()))
            v = rng.standard_normal(384)
            out.append(v / np.linalg.norm(v))
        return out


LINES = ["Добрый день, меня зовут Ольга.", "Когда планируете оплату?", "Давайте созвонимся в пятницу."]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(vector_cache.ENV, str(tmp_path / "vectors"))
    return tmp_path / "vectors"


def test_a_second_process_embeds_nothing_it_has_seen(cache):
    first = CountingEngine()
    made = vector_cache.embed_cached(Embedder(first), LINES)
    assert first.asked == LINES
    again = CountingEngine()   # a new process: an empty in-memory cache
    read = vector_cache.embed_cached(Embedder(again), [*LINES, "Новая строка скрипта."])
    assert again.asked == ["Новая строка скрипта."]
    assert np.array_equal(read[:3], made)   # exactly the vectors of the first run (half precision both ways)
    assert list(cache.rglob("*.npz")) and not list(cache.rglob("*.tmp"))


def test_the_key_is_the_model_and_the_normalised_text(cache):
    vector_cache.embed_cached(Embedder(CountingEngine()), ["Когда  планируете\u00a0оплату? "])
    engine = CountingEngine()
    vector_cache.embed_cached(Embedder(engine), ["Когда планируете оплату?"])
    assert engine.asked == []
    other = Embedder(CountingEngine())
    other.model_id = "another-model"
    assert vector_cache.text_hash("another-model", LINES[0]) != vector_cache.text_hash(Embedder.model_id, LINES[0])
    vector_cache.embed_cached(other, ["Когда планируете оплату?"])
    assert other._engine.asked == ["Когда планируете оплату?"]


def test_turned_off_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(vector_cache.ENV, "")
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path))
    vector_cache.embed_cached(Embedder(CountingEngine()), LINES)
    assert not list(tmp_path.rglob("*.npz"))


def test_the_default_folder_is_under_the_tool_cache(tmp_path, monkeypatch):
    monkeypatch.delenv(vector_cache.ENV)
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path))
    assert vector_cache.cache_folder() == tmp_path / "embeddings"


def test_a_damaged_file_is_embedded_again(cache):
    vector_cache.embed_cached(Embedder(CountingEngine()), LINES)
    for path in cache.rglob("*.npz"):
        path.write_bytes(b"not an npz")
    engine = CountingEngine()
    vector_cache.embed_cached(Embedder(engine), LINES)
    assert engine.asked == LINES


def test_an_unwritable_folder_changes_nothing(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv(vector_cache.ENV, str(blocker / "vectors"))   # a folder under a file: cannot be made
    vectors = vector_cache.embed_cached(Embedder(CountingEngine()), LINES)
    assert vectors.shape == (3, 384)


def test_many_writes_are_merged(cache, monkeypatch):
    monkeypatch.setattr(vector_cache, "MAX_FILES", 3)
    for i in range(6):
        vector_cache.embed_cached(Embedder(CountingEngine()), [f"строка {i}"])
    assert len(list(cache.rglob("*.npz"))) <= 3
    engine = CountingEngine()
    vector_cache.embed_cached(Embedder(engine), [f"строка {i}" for i in range(6)])
    assert engine.asked == []


def _worker(args):
    folder, texts = args
    import os

    os.environ[vector_cache.ENV] = folder
    return vector_cache.embed_cached(Embedder(CountingEngine()), texts).tolist()


def test_concurrent_workers_share_the_cache(cache):
    texts = [f"фраза номер {i}" for i in range(40)]
    jobs = [(str(cache), texts[i:i + 20]) for i in range(0, 30, 5)] * 2
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_worker, jobs)
    for (_, chunk), got in zip(jobs, results):
        expected = Embedder(CountingEngine()).embed(chunk)
        assert np.array_equal(np.array(got, dtype=np.float32), expected)
    engine = CountingEngine()
    vector_cache.embed_cached(Embedder(engine), texts[:35])
    assert engine.asked == []


SCORE = """
import json, sys
from pathlib import Path
from compliance.scoring.embeddings import load_embedder
from compliance.pipeline import read_calls
from compliance.scoring.score import score_call
from compliance.scoring.script_file import load_script
from compliance.resources import default_script_path
script = load_script(default_script_path())
embedder = load_embedder()
asked = []
query = embedder._engine.query
embedder._engine = type("Spy", (), {"query": lambda self, texts: asked.extend(texts) or query(texts)})()
results = [score_call(t, script, "newcomer").model_dump(mode="json") for t in read_calls(Path(sys.argv[1]), script)]
print(json.dumps({"asked": len(asked), "results": results}))
"""


@pytest.mark.slow
def test_the_real_model_scores_the_same_from_the_cache(cache):
    call = ROOT / "samples" / "day" / "2026-11-27_11-05-40_sidorova_380671112233.txt"

    def run() -> dict:
        done = subprocess.run([sys.executable, "-c", SCORE, str(call)], cwd=ROOT, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.splitlines()[-1])

    first, second = run(), run()
    assert first["results"] == second["results"]
    assert second["asked"] < first["asked"]   # the script's lines and the background came from the cache


def test_loading_the_meaning_model_leaves_the_environment_as_it_was():
    """The engine's OpenMP is opened with passive waiting; the process environment is given back unchanged."""
    code = ("import os; from compliance.scoring.embeddings import load_embedder; "
            "before = {k: os.environ.get(k) for k in ('OMP_WAIT_POLICY', 'OMP_NUM_THREADS')}; "
            "e = load_embedder(); assert e is not None; v = e.embed(['Добрый день']); "
            "print(before == {k: os.environ.get(k) for k in ('OMP_WAIT_POLICY', 'OMP_NUM_THREADS')}, v.shape)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.split() == ["True", "(1,", "384)"], done.stderr[-2000:]
