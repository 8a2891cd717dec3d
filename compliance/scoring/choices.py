"""Closed sets of words that the command line offers before anything is loaded (a leaf: the standard library only).

The manager's levels live here rather than beside the scored call's models so that `--level`'s choices cost the
command line no pydantic import; ``compliance.scoring.result`` and the roster take them from here.
"""
from __future__ import annotations

from enum import Enum


class Choice(str, Enum):
    """A closed set of words stored and shown as their value (``str()`` is the value, as JSON has it)."""

    def __str__(self) -> str:
        return str(self.value)


class Level(Choice):
    """A manager's level: reads the script closely, or works by the general structure."""

    NEWCOMER = "newcomer"
    EXPERIENCED = "experienced"


LEVELS: tuple[str, ...] = tuple(level.value for level in Level)  # the one list of levels
