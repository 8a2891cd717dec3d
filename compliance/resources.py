"""Find the folders that ship with the tool, from a checkout or an installed wheel."""
from __future__ import annotations

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


def default_script_path() -> Path:
    """The default Russian sales-call script."""
    return resource_dir("scripts_yaml") / "sales_call.ru.yaml"


def lexicon_path(name: str) -> Path:
    """A data file of ``compliance/text/data`` (synonym groups, background talk)."""
    return _PACKAGE / "text" / "data" / name
