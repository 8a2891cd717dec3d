"""Walking a folder: the recordings and transcripts in it, and what could not be read."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable, Iterator, Protocol

from compliance.files import shown_path
from compliance.history.store import Failure
from compliance.sources.model import SIDECAR_SUFFIX
from compliance.speech.legs import second_leg
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason

TRANSCRIPT_EXTENSIONS = frozenset({".txt", ".json"})


def _audio_extensions() -> frozenset[str]:
    try:
        from compliance.speech.transcribe import AUDIO_EXTENSIONS
    except ImportError:  # transcription not installed/available: still pick recordings up (and fail them clearly)
        from compliance.speech.decode import AUDIO_EXTENSIONS
    return frozenset(e.lower() for e in AUDIO_EXTENSIONS)


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _Sink(Protocol):
    def append(self, item: str, /) -> None: ...


def discover(folder: Path, exclude: Iterable[Path] = ()) -> tuple[list[Path], list[Failure], list[str]]:
    """Every recording and transcript under ``folder`` (sorted), unreadable folders, ignored files (``walk``)."""
    failures: list[Failure] = []
    ignored: list[str] = []
    found = sorted(walk(folder, exclude, failures, ignored))
    return found, failures, ignored


def walk(folder: Path, exclude: Iterable[Path], failures: list[Failure], ignored: _Sink) -> Iterator[Path]:
    """Every recording and transcript under ``folder``, as the walk meets them; unreadable folders and broken
    links go to ``failures``, ignored files to ``ignored``.

    Hidden files and folders are skipped, and so are ``exclude`` paths (the report folder, the db). Links to
    folders are followed, each real folder once.
    A ``.txt``/``.json`` next to a recording with the same name is that recording's transcript
    written by ``compliance transcribe``; it is ignored so the call is not counted twice. So is a PBX ``-out``
    leg beside its ``-in`` leg (the pair is one call, read from the ``-in`` file).
    """
    audio_ext = _audio_extensions()
    wanted = audio_ext | TRANSCRIPT_EXTENSIONS
    skip = {p.resolve() for p in exclude}

    def _onerror(err: OSError) -> None:
        failures.append(Failure(file=shown_path(str(err.filename)), kind="folder",
                                reason=say("err.batch.folder_unreadable", why=os_reason(err))))

    # Folder links are followed (a manager's folder linked from another disk is that manager's calls); a folder
    # reached twice (a link loop, two links to one place) is walked once.
    seen: set[str] = set()
    for dirpath, dirnames, filenames in os.walk(folder, onerror=_onerror, followlinks=True):
        here = Path(dirpath)
        real = os.path.realpath(here)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and (here / d).resolve() not in skip
                             and os.path.realpath(here / d) not in seen)
        stems = {Path(n).stem for n in filenames if Path(n).suffix.lower() in audio_ext}
        for name in sorted(filenames):
            path = here / name
            suffix = path.suffix.lower()
            if (name.startswith(".") or suffix not in wanted or name.lower().endswith(SIDECAR_SUFFIX)
                    or path.resolve() in skip):
                continue
            if (suffix in TRANSCRIPT_EXTENSIONS and path.stem in stems) or (suffix in audio_ext and second_leg(path)):
                ignored.append(shown_path(path))  # a transcript of a recording here; a PBX leg read with its pair
                continue
            if not path.is_file():  # a broken link, a pipe: reading it would fail or hang
                failures.append(Failure(file=shown_path(path), kind="unreadable", reason=say("err.batch.not_a_file")))
                continue
            yield path
