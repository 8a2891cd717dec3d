"""The default model: assembled from the two PyPI packages into the cache, verified, rebuilt when damaged."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.errors import ModelError
from compliance.resources import cache_root
from compliance.speech import model as model_mod
from compliance.speech.model import (
    EXPECTED_SHA256,
    MODEL_BIN_SIZE,
    assemble_default_model,
    is_intact,
    model_parts,
)

ROOT = Path(__file__).resolve().parent.parent
needs_parts = pytest.mark.skipif(model_parts() is None, reason="pip install -e .[model] first")


def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPLIANCE_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "call-compliance"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "call-compliance"
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"


def test_parts_are_found_through_importlib():
    parts = model_parts()
    if parts is None:
        pytest.skip("model extra not installed")
    assert (parts[0] / "model.bin.part1").is_file() and (parts[1] / "model.bin.part2").is_file()
    assert all((parts[0] / name).is_file() for name in ("config.json", "tokenizer.json", "vocabulary.txt"))


@needs_parts
def test_assemble_verify_and_reuse(tmp_path):
    folder = assemble_default_model(tmp_path)
    assert folder == tmp_path / "whisper-base"
    assert (folder / "model.bin").stat().st_size == MODEL_BIN_SIZE
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(EXPECTED_SHA256)
    assert is_intact(folder)
    # nothing half-built is left beside it
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]
    mtime = (folder / "model.bin").stat().st_mtime_ns
    assert assemble_default_model(tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == mtime  # intact: not rebuilt


@needs_parts
@pytest.mark.parametrize("damage", ["flip_byte", "truncate", "delete_side_file", "edit_tokenizer"])
def test_damaged_model_is_rebuilt(tmp_path, damage):
    folder = assemble_default_model(tmp_path)
    model_bin = folder / "model.bin"
    if damage == "flip_byte":  # same size: only the checksum can tell
        with open(model_bin, "r+b") as fh:
            fh.seek(MODEL_BIN_SIZE // 2)
            byte = fh.read(1)
            fh.seek(MODEL_BIN_SIZE // 2)
            fh.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "truncate":
        os.truncate(model_bin, 1000)
    elif damage == "delete_side_file":
        (folder / "vocabulary.txt").unlink()
    else:
        (folder / "tokenizer.json").write_text("{}", encoding="utf-8")
    assert not is_intact(folder)
    assert assemble_default_model(tmp_path) == folder
    assert is_intact(folder)
    assert model_mod._sha256(model_bin) == EXPECTED_SHA256["model.bin"]


@needs_parts
def test_concurrent_assembly_both_succeed(tmp_path):
    code = ("import sys; from pathlib import Path; from compliance.speech.model import assemble_default_model as a; "
            "print(a(Path(sys.argv[1])))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert is_intact(tmp_path / "whisper-base")
    assert [p.name for p in tmp_path.iterdir()] == ["whisper-base"]


def test_missing_packages_name_the_extra(tmp_path, monkeypatch):
    monkeypatch.setattr(model_mod, "model_parts", lambda: None)
    with pytest.raises(ModelError, match=r"pip install 'call-compliance\[model\]'"):
        assemble_default_model(tmp_path)


@pytest.mark.usefixtures("english")
def test_damaged_packages_are_reported(tmp_path, monkeypatch):
    part1, part2 = tmp_path / "p1", tmp_path / "p2"
    part1.mkdir()
    part2.mkdir()
    (part1 / "model.bin.part1").write_bytes(b"x" * 10)
    (part2 / "model.bin.part2").write_bytes(b"y" * 10)
    monkeypatch.setattr(model_mod, "model_parts", lambda: (part1, part2))
    with pytest.raises(ModelError, match="damaged"):
        assemble_default_model(tmp_path / "cache")
    assert not (tmp_path / "cache" / "whisper-base").exists()
    assert list((tmp_path / "cache").iterdir()) == []  # the temporary build is gone


def test_cli_without_model_is_one_error_line(tmp_path, monkeypatch):
    """No packages, nothing cached, no hub copy: one ``Error:`` line naming the extra, exit 1."""
    monkeypatch.setenv("COMPLIANCE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(model_mod, "model_parts", lambda: None)
    recording = ROOT / "tests" / "fixtures" / "audio" / "formats" / "phrase.mono8k.wav"
    result = CliRunner().invoke(cli, ["analyze", str(recording), str(recording)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines == ["Ошибка: модель распознавания по умолчанию (Whisper base) не установлена; установите её: "
                     "pip install 'call-compliance[model]'"]


@pytest.mark.parametrize("cuda_devices, expected", [(0, ("cpu", "int8")), (1, ("cuda", "float16"))])
def test_device_auto(monkeypatch, cuda_devices, expected):
    import ctranslate2

    from compliance.speech.engine import TranscribeOptions, _device

    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: cuda_devices)
    assert _device(TranscribeOptions()) == expected
    assert _device(TranscribeOptions(device="cpu", compute_type="float32")) == ("cpu", "float32")


@pytest.mark.usefixtures("english")
def test_model_names_resolve(tmp_path):
    from compliance.speech.engine import _resolve_model

    with pytest.raises(ModelError, match="no such model folder"):
        _resolve_model(str(tmp_path / "missing"))
    with pytest.raises(ModelError, match="not a CTranslate2 model folder"):
        _resolve_model(str(tmp_path))
    (tmp_path / "model.bin").write_bytes(b"0")
    local = _resolve_model(str(tmp_path))
    assert local.source == str(tmp_path.resolve()) and local.identity.startswith("dir:")
    hub = _resolve_model("Systran/faster-whisper-small")
    assert hub.source == "Systran/faster-whisper-small" and hub.identity == "hub:Systran/faster-whisper-small"
    assert _resolve_model("small").source == "small"


@pytest.mark.usefixtures("english")
def test_unloadable_model_folder_is_a_model_error(tmp_path):
    from compliance.speech.transcribe import TranscribeOptions, load_model

    (tmp_path / "model.bin").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load speech model"):
        load_model(TranscribeOptions(model=str(tmp_path), device="cpu"))
