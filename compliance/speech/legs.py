"""PBX leg files: Asterisk's Monitor/MixMonitor (options r() and t()) write a call's two directions as two files,
``NAME-in.wav`` (what the channel received) and ``NAME-out.wav`` (what it sent). The pair is one stereo call, one
party a leg; which leg is the manager's is chosen as for any stereo call (the script, or ``--manager-channel``:
left is ``-in``)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

_LEG = re.compile(r"^(?P<stem>.+)(?P<sep>[-_.])(?P<leg>in|out)$", re.IGNORECASE)
_OTHER = {"in": "out", "out": "in", "IN": "OUT", "OUT": "IN", "In": "Out", "Out": "In"}


def leg_partner(path: str | Path) -> Optional[Path]:
    """The other leg of a ``-in``/``-out`` pair when it lies beside ``path`` (None: not a leg, or alone)."""
    path = Path(path)
    found = _LEG.match(path.stem)
    if found is None:
        return None
    other = path.with_name(f"{found['stem']}{found['sep']}{_OTHER.get(found['leg'], 'in')}{path.suffix}")
    return other if other != path and other.is_file() else None


def legs(path: str | Path) -> Optional[tuple[Path, Path]]:
    """(``-in`` leg, ``-out`` leg) when ``path`` is one leg of a pair, else None."""
    other = leg_partner(path)
    if other is None:
        return None
    path = Path(path)
    return (path, other) if _LEG.match(path.stem)["leg"].lower() == "in" else (other, path)  # type: ignore[index]


def second_leg(path: str | Path) -> bool:
    """An ``-out`` leg whose ``-in`` leg lies beside it: the call is read from its ``-in`` file."""
    pair = legs(path)
    return pair is not None and pair[1] == Path(path)
