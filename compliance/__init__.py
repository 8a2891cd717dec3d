"""call-compliance: how closely sales calls follow the sales script."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The public names, each from its module: imported when first asked for, so that `compliance --help` and the
# light commands do not pay for pydantic models, numpy or the Russian dictionary they never use.
_HOMES = {
    "ComplianceError": "compliance.errors",
    "CallRecord": "compliance.scoring.result",
    "CallResult": "compliance.scoring.result",
    "SalesScript": "compliance.scoring.script",
    "load_script": "compliance.scoring.script_file",
    "Transcript": "compliance.scoring.transcript",
    "load_transcript": "compliance.scoring.transcript",
    "score_call": "compliance.scoring.score",
}

__all__ = ["CallRecord", "CallResult", "ComplianceError", "SalesScript", "Transcript", "load_script",
           "load_transcript", "score_call", "__version__"]

if TYPE_CHECKING:
    from compliance.errors import ComplianceError
    from compliance.scoring.result import CallRecord, CallResult
    from compliance.scoring.score import score_call
    from compliance.scoring.script import SalesScript
    from compliance.scoring.script_file import load_script
    from compliance.scoring.transcript import Transcript, load_transcript


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'compliance' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
