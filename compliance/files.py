"""The tool's files: the one atomic-write helper, paths as people are shown them (what a refusal means, in
words, is ``compliance.text.os_errors``).

Every file the tool writes (the roster, exports, transcripts, the transcript cache, model stamps) goes through
``write_atomic``: the text goes to a temporary file beside the target, is flushed to disk, and replaces the
target in one rename. A target that is a symbolic link is written *through* the link (the link stays, the file
it points to changes); an existing file keeps its permissions; a new one gets 0666 less the umask, as any
program's new file would (``tempfile.mkstemp`` alone would leave 0600).
"""
from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path, PurePath
from typing import BinaryIO, Iterator


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Replace ``path`` with ``data`` in one step; returns the file actually written (the link's target).

    Raises:
        OSError: the folder is missing or not writable (nothing is left behind).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with atomic_writer(path) as fh:
        fh.write(payload)
    return Path(os.path.realpath(path))


@contextlib.contextmanager
def atomic_writer(path: str | Path) -> Iterator[BinaryIO]:
    """``write_atomic`` for output written a piece at a time (a year's export is never all in memory): write to the
    binary file this yields; the target is replaced when the block ends, and left as it was if the block raises.

    Raises:
        OSError: the folder is missing or not writable (nothing is left behind).
    """
    if not os.fspath(path).strip():
        raise IsADirectoryError(errno.EISDIR, "an empty name is not a file", "")
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(target))
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def shown_path(path: str | os.PathLike[str]) -> str:
    """A file name as text that can be stored, printed and put in JSON: bytes that are not UTF-8 (a name made on
    another system, ``b"\\xffname.txt"``) become ``\\xff`` escapes instead of breaking the output."""
    return os.fspath(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def shown_name(file: str) -> str:
    """A call's file as a manager may see it: its name, never the folder it lies in on the lead's machine
    (``…/2026-11-27/ivanova/call.wav`` → ``call.wav``; a chat of an export keeps its ``#title``)."""
    return PurePath(file.replace("\\", "/")).name or file
