"""The command line: one module per command group; each parses options, calls one core function, prints.

``app`` holds the group; ``options`` what several commands share; the others register their commands on the
group when imported here.
"""
from __future__ import annotations

from compliance.cli import (  # noqa: F401 - they register
    audio,
    batch,
    fetch,
    history,
    pipedrive,
    report,
    rescore,
    review,
    score,
    script,
    serve,
    team,
    users,
    watch,
)
from compliance.cli.app import cli, main

__all__ = ["cli", "main"]
