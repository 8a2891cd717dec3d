"""``compliance watch``: a folder a PBX drops recordings into, scored as files land.

A file is taken only once it has stopped growing: its size and modification time unchanged for ``settle``
seconds. The batch then runs over the whole folder, which skips every call it already has (a call is its content
hash), so a restart of the watcher re-reads the folder and neither loses a file that landed while it was down nor
scores one twice. Hidden files (a copy in progress, ``.name.part``) and ``.pbx.json`` metadata are not recordings.
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, NamedTuple

from compliance.sources.model import SIDECAR_SUFFIX


class _Seen(NamedTuple):
    size: int
    mtime_ns: int
    since: float          # when this size and time were first seen


class FolderWatch:
    """Which files under ``folder`` have stopped growing since the last look."""

    def __init__(self, folder: Path, settle: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.folder, self.settle, self.clock = folder, settle, clock
        self._seen: dict[Path, _Seen] = {}
        self._taken: dict[Path, tuple[int, int]] = {}
        self.growing: list[Path] = []

    def poll(self) -> list[Path]:
        """Files settled since the last poll (each size and time of a file once); ``growing`` lists the rest."""
        now = self.clock()
        settled, growing, current = [], [], {}
        for path in self._files():
            try:
                st = path.stat()
            except OSError:
                continue  # gone or renamed meanwhile: the next look sees it again
            sig = (st.st_size, st.st_mtime_ns)
            old = self._seen.get(path)
            seen = old if old and (old.size, old.mtime_ns) == sig else _Seen(*sig, now)
            current[path] = seen
            if st.st_size == 0 or now - seen.since < self.settle:
                growing.append(path)
            elif self._taken.get(path) != sig:
                self._taken[path] = sig
                settled.append(path)
        self._seen, self.growing = current, growing
        return sorted(settled)

    def _files(self) -> list[Path]:
        out = []
        for dirpath, dirnames, filenames in os.walk(self.folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            out += [Path(dirpath) / n for n in filenames if not n.startswith(".") and not n.endswith(SIDECAR_SUFFIX)]
        return out


def watch_folder(watch: FolderWatch, score: Callable[[list[Path]], None], *, interval: float = 5.0,
                 once: bool = False, sleep: Callable[[float], None] = time.sleep) -> None:
    """Poll ``watch`` every ``interval`` seconds; when files have settled and none is still growing, ``score``
    them (the caller runs the batch). ``once``: stop after the first scoring, or when the folder has nothing
    new and nothing growing after a full ``settle``."""
    pending: list[Path] = []
    started = watch.clock()
    while True:
        pending += watch.poll()
        if pending and not watch.growing:
            score(pending)
            pending = []
            if once:
                return
        elif once and not watch.growing and watch.clock() - started >= watch.settle:
            return
        sleep(interval)
