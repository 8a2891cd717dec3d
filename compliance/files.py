"""The tool's files: the one atomic-write helper, paths as people are shown them.

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
from pathlib import Path
from typing import BinaryIO, Iterator

from compliance.text.catalogue import Said, say


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
        raise IsADirectoryError(21, say("err.os.empty_name"), os.fspath(path))
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise IsADirectoryError(21, say("err.os.folder_not_file"), str(target))
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


def describe_write_error(path: str | os.PathLike[str], exc: OSError) -> str:
    """Why a file could not be written, naming the folder when the folder is the cause."""
    folder = Path(os.path.realpath(path)).parent
    if isinstance(exc, IsADirectoryError):
        return f"{os_reason(exc)}: {shown_path(path)}"
    if not folder.is_dir():
        return say("err.os.no_folder", folder=shown_path(folder))
    if isinstance(exc, PermissionError) or not os.access(folder, os.W_OK):
        return say("err.os.folder_not_writable", folder=shown_path(folder))
    return os_reason(exc)


# The system's reasons people meet, in the run's language (the system's own words are English here).
_REASONS = {errno.ENOENT: "err.os.enoent", errno.EACCES: "err.os.eacces", errno.EPERM: "err.os.eacces",
            errno.ENOSPC: "err.os.enospc", errno.EISDIR: "err.os.eisdir", errno.ENOTDIR: "err.os.enotdir",
            errno.EROFS: "err.os.erofs", errno.EDQUOT: "err.os.enospc", errno.EIO: "err.os.eio",
            errno.ENAMETOOLONG: "err.os.enametoolong"}


def os_reason(exc: OSError) -> str:
    """Why the system refused, in the run's language: a known reason from the catalogue, else the system's words."""
    if isinstance(exc.strerror, Said) or (isinstance(exc.strerror, str) and exc.strerror and exc.errno not in _REASONS):
        return exc.strerror   # our own words (``write_atomic``), or a reason the catalogue does not know
    key = _REASONS.get(exc.errno or 0)
    return say(key) if key else (exc.strerror or type(exc).__name__)
