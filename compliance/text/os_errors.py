"""What the system's refusals mean, in the run's language: why a file could not be read or written, naming the
folder when the folder is the cause (the system's own words are English)."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from compliance.files import shown_path
from compliance.text.catalogue import Said, say


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
            errno.ENOSPC: "err.os.enospc", errno.EISDIR: "err.os.folder_not_file", errno.ENOTDIR: "err.os.enotdir",
            errno.EROFS: "err.os.erofs", errno.EDQUOT: "err.os.enospc", errno.EIO: "err.os.eio",
            errno.ENAMETOOLONG: "err.os.enametoolong"}


def os_reason(exc: OSError) -> str:
    """Why the system refused, in the run's language: a known reason from the catalogue, else the system's words."""
    if exc.errno == errno.EISDIR and exc.filename == "":
        return say("err.os.empty_name")   # ``write_atomic`` given no name
    if isinstance(exc.strerror, Said):
        return exc.strerror   # words already said in the run's language
    key = _REASONS.get(exc.errno or 0)
    if key:
        return say(key)
    # A reason the catalogue does not know: the system's words, quoted after a sentence that says whose they are.
    return say("why.system", words=exc.strerror or str(exc) or type(exc).__name__)
