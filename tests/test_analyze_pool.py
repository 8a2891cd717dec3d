"""`compliance analyze` over several recordings runs them as the batch does, one model on threads of this process
(issue 26): results in the order given, bad files reported and the rest analysed, a model that does not load one
clear error, and the same scores as analysing them one by one."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from compliance.cli import cli

from .conftest import ROOT

AUDIO = ROOT / "tests" / "fixtures" / "audio"


def test_a_model_that_does_not_load_is_one_error_line(tmp_path, monkeypatch):
    """The model does not load: its own error is said once."""
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    missing = tmp_path / "no-model"
    result = CliRunner().invoke(cli, ["analyze", str(AUDIO / "call_full.stereo.ogg"), str(AUDIO / "silence.stereo.wav"),
                                      "--model", str(missing), "--workers", "2"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Ошибка: ") and "no-model" in lines[0], result.output


@pytest.mark.slow
def test_the_pool_scores_as_this_process_does(tmp_path, monkeypatch):
    bad = tmp_path / "broken.mp3"
    bad.write_bytes(b"ID3 not really an mp3")
    files = [str(AUDIO / "call_missing.stereo.ogg"), str(bad), str(AUDIO / "call_full.stereo.ogg"),
             str(AUDIO / "voicemail.stereo.ogg")]

    def run(workers: str, cache: str) -> tuple[int, list[dict], list[str]]:
        monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / cache))   # no transcript shared between runs
        result = CliRunner().invoke(cli, ["analyze", *files, "--json", "--workers", workers])
        rows = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
        errors = [line for line in result.output.splitlines() if line.startswith("Ошибка:")]
        return result.exit_code, rows, errors

    pooled, here = run("2", "pool"), run("1", "here")
    assert pooled[0] == here[0] == 1
    assert pooled[2] == here[2] == [f"Ошибка: {bad}: не удаётся декодировать звук (данные повреждены или это не аудио); "
                                        "проверьте, что это целая аудиозапись, или выгрузите её снова"]
    assert [r["file"] for r in pooled[1]] == [files[0], files[2], files[3]]   # the order given
    for a, b in zip(pooled[1], here[1]):
        assert (a["connected"], a["verdict"]) == (b["connected"], b["verdict"]), (a["file"], a, b)
        assert a["adherence"] == pytest.approx(b["adherence"], abs=5) if b["adherence"] is not None else True
        assert [s["present"] for s in a["stages"]] == [s["present"] for s in b["stages"]]


def test_a_worker_loads_the_two_models_side_by_side(monkeypatch, default_script):
    """The meaning model (seeded with the batch's phrasing vectors) loads on a thread while Whisper loads: the
    fake Whisper load waits for the seed to arrive, which a one-after-the-other start would never let happen."""
    import threading

    import numpy as np

    from compliance.batch import workers
    from compliance.scoring import embeddings
    from compliance.speech import transcribe
    from compliance.speech.transcribe import TranscribeOptions

    seeded = threading.Event()

    class Fake:
        def remember(self, vectors):
            assert list(vectors) == ["Добрый день"]
            seeded.set()

    heard: dict = {}

    def slow_whisper(options):
        heard["seed arrived while Whisper loaded"] = seeded.wait(timeout=30)
        return "whisper"

    monkeypatch.setattr(embeddings, "load_embedder", lambda: Fake())
    monkeypatch.setattr(transcribe, "load_model", slow_whisper)
    seed = embeddings.pack_vectors({"Добрый день": np.ones(384, dtype=np.float32)})
    workers._setup([default_script.model_dump_json()], TranscribeOptions().model_dump_json(), None, 1, seed)
    assert heard == {"seed arrived while Whisper loaded": True}
    assert workers._STATE["model"] == "whisper"
