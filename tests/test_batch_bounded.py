"""The batch's main process holds a bounded amount whatever the number of files: the plan is kept on disk (a
private temporary database), each file's outcome too; only counts, failures and per-manager figures stay in memory.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from click.testing import CliRunner

from compliance.batch.models import BatchOptions, BatchSummary, FileOutcome
from compliance.batch.run import run_batch
from compliance.batch.spill import PlanSpill
from compliance.cli import cli
from compliance.scoring.result import Outcome

CALL = ("М: Добрый день! Меня зовут Мария, компания «Смарт Мейкер».\nК: Заказ {i}.\n"
        "М: Когда вы планируете оплату?\nК: Завтра.")


def test_paths_come_back_in_sorted_order_from_disk(tmp_path):
    """The plan reads the files back in ``sorted()``'s order of paths (part by part, not as strings: ``a-b/x``
    after ``a/x``), names that are not UTF-8 included."""
    names = ["a/x.txt", "a-b/x.txt", "a b/y.txt", "a/c/d.txt", "a/z.txt", "ё/1.txt", "я/2.txt", "A/3.txt"]
    paths = [tmp_path / n for n in names] + [Path(os.fsdecode(os.fsencode(tmp_path) + b"/b\xffname.txt"))]
    spill = PlanSpill(lambda job, script: job)
    try:
        for p in reversed(paths):
            spill.add_path(p)
        spill.add_path(paths[0])  # the same path twice is one file
        assert list(spill.paths()) == sorted(paths)
        assert spill.path_count() == len(paths)
    finally:
        spill.close()


def test_outcomes_are_kept_on_disk_and_streamed_into_the_json_summary():
    summary = BatchSummary(batch_id=1, folder="/calls", db="h.db", analysed=2)
    assert "files" not in BatchSummary.model_fields       # no list of every file in memory
    outcomes = [FileOutcome(file=f"/calls/{i}.txt", outcome=Outcome.ANALYSED, call_id=str(i)) for i in range(3)]
    for outcome in outcomes[:2]:
        summary.add_file(outcome)
    seen = summary.iter_files()
    assert next(seen) == outcomes[0]
    summary.add_file(outcomes[2])                           # added while being read: nothing lost
    assert list(seen) == outcomes[1:]
    parts: list[str] = []
    summary.write_json(parts.append)
    whole = json.loads("".join(parts))
    assert whole["files"] == [o.model_dump(mode="json") for o in outcomes]
    assert whole["analysed"] == 2 and whole["batch_id"] == 1
    empty: list[str] = []
    BatchSummary(batch_id=2, folder="/c", db="h.db").write_json(empty.append)
    assert json.loads("".join(empty))["files"] == []


def test_a_batch_plans_from_disk_and_lists_every_file_and_failure(tmp_path, monkeypatch):
    """Every file is planned through the spill (no list of jobs), each outcome is listed once, the failures at the
    end, and a second run skips them all; duplicates within the folder are still found."""
    from compliance.batch import spill as spill_module

    folder = tmp_path / "day"
    for i in range(12):
        path = folder / f"m{i % 3}" / "2026-11-27" / f"call-{i:03d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(CALL.format(i=i), encoding="utf-8")
    (folder / "m0" / "2026-11-27" / "copy.txt").write_text(CALL.format(i=0), encoding="utf-8")
    (folder / "m1" / "2026-11-27" / "empty.txt").write_bytes(b"")
    added = []
    real = spill_module.PlanSpill.add_found
    monkeypatch.setattr(spill_module.PlanSpill, "add_found", lambda self, job, state: (added.append(job.file),
                                                                                      real(self, job, state))[1])
    db = tmp_path / "h.db"
    run = CliRunner().invoke(cli, ["batch", str(folder), "--db", str(db), "--json", "--workers", "1"])
    summary = json.loads(run.output)
    assert run.exit_code == 3, run.output
    assert (summary["analysed"], summary["duplicates"], summary["failed"]) == (12, 1, 1)
    assert len(summary["files"]) == 14 and len({f["file"] for f in summary["files"]}) == 14
    assert [Path(f["file"]).name for f in summary["failures"]] == ["empty.txt"]
    assert len(added) == 14                                   # each file planned once (the empty one fails scoring)
    again = run_batch(BatchOptions(folder=folder, db=db, workers=1))
    assert (again.skipped, again.analysed, again.duplicates, again.failed) == (12, 0, 1, 1)
    assert sorted(f.outcome for f in again.files).count(Outcome.SKIPPED) == 12


def test_rescoring_the_history_keeps_no_call_sentences_in_memory(tmp_path):
    """A re-score of every stored call drops each call's own sentence vectors once saved (the store keeps them):
    the meaning model's cache holds the scripts' phrasings and one call's sentences, whatever the history's size."""
    from compliance.history.rescore import rescore_history
    from compliance.history.store import Store
    from compliance.scoring.embeddings import load_embedder, transcript_sentences
    from compliance.scoring.script import SalesScript
    from compliance.scoring.semantic import prototype_texts

    embedder = load_embedder()
    if embedder is None:
        import pytest

        pytest.skip("the meaning model is not available")
    import importlib.util

    spec = importlib.util.spec_from_file_location("_bench_calls", Path(__file__).parent / "fixtures" / "make_bench_calls.py")
    assert spec is not None and spec.loader is not None
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    folder = tmp_path / "day"
    for i, (transcript, _level) in enumerate(make.make_bench_calls(n=4)):
        path = folder / "m0" / "2026-11-27" / f"call-{i}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(transcript.model_dump_json(), encoding="utf-8")
    db = tmp_path / "h.db"
    assert run_batch(BatchOptions(folder=folder, db=db, workers=1)).analysed == 4
    embedder.forget()
    with Store(db) as store:
        script = next(SalesScript.model_validate_json(js) for js in store.latest_scripts().values())
        phrasings = set(prototype_texts(script))
        said = [t for r in store.calls() for t in transcript_sentences(r.transcript.segments)]
        embedded = set(store.load_embeddings(embedder.model_id, said)) - phrasings
        assert embedded                                   # the calls' own sentences the meaning model embedded
        summary = rescore_history(store)
        assert summary.rescored == 4
        assert set(embedder.known(said)) <= phrasings     # gone from memory once each call was saved
        assert set(store.load_embeddings(embedder.model_id, said)) >= embedded   # kept in the history instead
