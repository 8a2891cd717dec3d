"""Batch mode on real recordings: the real model, loaded once, on threads of the batch's process, a corrupt file
among them, a second run that transcribes nothing, a script edit that re-scores from stored transcripts."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

import compliance.batch.execute as batch_mod
from compliance.batch.run import BatchOptions, run_batch
from compliance.cli import cli
from compliance.history.store import Store
from compliance.resources import default_script_path

from .conftest import FIXTURES, ROOT

AUDIO = FIXTURES / "audio"

pytestmark = pytest.mark.slow


def _no_pool(*args, **kwargs):
    raise AssertionError("recordings are transcribed in the batch's own process, not in a pool of processes")


def _no_transcription(*args, **kwargs):
    raise AssertionError("no recording should be transcribed on this run")


def test_real_recordings_corrupt_file_then_cached_and_rescored(tmp_path, monkeypatch):
    day = tmp_path / "day" / "2026-11-27"
    (day / "ivanova").mkdir(parents=True)
    (day / "petrov").mkdir(parents=True)
    shutil.copy(AUDIO / "call_full.stereo.ogg", day / "ivanova" / "2026-11-27_10-31-02_ivanova_380991234567.ogg")
    shutil.copy(AUDIO / "voicemail.stereo.ogg", day / "petrov" / "2026-11-27_11-00-00_petrov.ogg")
    broken = day / "petrov" / "2026-11-27_12-00-00_petrov.mp3"
    broken.write_bytes(b"ID3\x03\x00" + bytes(range(256)) * 40)  # an mp3 header, then junk
    script = tmp_path / "script.yaml"
    shutil.copy(default_script_path(), script)
    opts = BatchOptions(folder=tmp_path / "day", db=tmp_path / "h.db", scripts=[script], workers=2,
                        cache_dir=tmp_path / "cache")

    import compliance.speech.engine as engine

    monkeypatch.setattr(engine, "_MODELS", {})
    with monkeypatch.context() as patched:
        patched.setattr(batch_mod.cf, "ProcessPoolExecutor", _no_pool)
        first = run_batch(opts)
    assert len(engine._MODELS) == 1, "one model for the whole batch, shared by its threads"
    assert (first.analysed, first.failed, first.not_connected) == (2, 1, 1)
    assert first.exit_code == 3
    [failure] = first.failures
    assert failure.file == str(broken) and failure.kind == "audio" and "не удаётся декодировать" in failure.reason
    assert first.audio_seconds > 80  # 73.7 s call + 10.7 s voicemail
    with Store(opts.db) as store:
        calls = {r.manager: r for r in store.calls()}
        call = calls["ivanova"]
        assert call.result.connected and call.audio == call.file and call.model
        assert call.transcript.segments and call.transcript.manager_channel in ("left", "right")
        assert call.result.adherence is not None and call.result.stages
        assert calls["petrov"].result.connected is False
        assert [f.file for f in store.failures(first.batch_id)] == [str(broken)]

    broken.unlink()
    monkeypatch.setattr(batch_mod._Executes, "_in_threads", _no_transcription)
    second = run_batch(opts)
    assert (second.skipped, second.analysed, second.failed) == (2, 0, 0)

    script.write_text(script.read_text("utf-8").replace("Какие сроки для вас важны?", "Когда вам нужен сайт?"),
                      encoding="utf-8")
    third = run_batch(opts)
    assert (third.rescored, third.analysed, third.skipped) == (2, 0, 0)
    with Store(opts.db) as store:
        rescored = {r.manager: r for r in store.calls()}
        assert rescored["ivanova"].transcript == call.transcript
        assert rescored["ivanova"].result.script_hash != call.result.script_hash


def test_readme_first_command_on_the_sample_day(tmp_path, monkeypatch):
    """compliance batch samples/day --team samples/team.yaml --out reports (with a private transcript cache)."""
    monkeypatch.chdir(tmp_path)
    shutil.copytree(ROOT / "samples", tmp_path / "samples", symlinks=True)
    res = CliRunner().invoke(cli, ["batch", "samples/day", "--team", "samples/team.yaml", "--out", "reports",
                                   "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    assert "проанализировано 13" in res.output and "ошибок 0" in res.output
    with Store(tmp_path / "compliance.db") as store:
        records = store.calls()
        assert {r.manager for r in records} == {"ivanova", "petrov", "sidorova"}
        recorded = [r for r in records if r.audio]
        assert len(recorded) == 3 and all(r.transcript.segments or not r.result.connected for r in recorded)
    try:
        import compliance.reports  # noqa: F401
    except ImportError:
        return
    assert (tmp_path / "reports" / "index.html").is_file()
