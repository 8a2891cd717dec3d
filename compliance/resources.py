"""The tool's folders: those that ship with it (from a checkout or an installed wheel), and its cache."""
from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Return the packaged copy of a top-level folder (``scripts_yaml``, ``reports_templates``).

    A wheel carries them inside the package (hatchling force-include); a checkout or an
    editable install has them beside the package.
    """
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"packaged folder {name!r} not found next to {_PACKAGE}")


DEFAULT_SCRIPTS = {"call": "sales_call.ru.yaml", "chat": "chat_sales.ru.yaml"}


def default_script_path(kind: str = "call") -> Path:
    """The default Russian script for a ``call`` (sales call) or a ``chat`` (messenger sales: chats are worded
    differently from calls)."""
    return resource_dir("scripts_yaml") / DEFAULT_SCRIPTS.get(kind, DEFAULT_SCRIPTS["call"])


def lexicon_path(name: str) -> Path:
    """A data file of ``compliance/text/data`` (synonym groups, background talk)."""
    return _PACKAGE / "text" / "data" / name


def cache_root() -> Path:
    """The tool's cache folder (models, transcripts, phrasing vectors, compiled catalogues):
    ``$COMPLIANCE_CACHE_DIR``, else ``$XDG_CACHE_HOME/call-compliance``, else ``~/.cache/call-compliance``."""
    override = os.environ.get("COMPLIANCE_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "call-compliance"
