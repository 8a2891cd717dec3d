"""call-compliance: how closely sales calls follow the sales script."""
from compliance.errors import ComplianceError
from compliance.scoring.result import CallRecord, CallResult
from compliance.scoring.script import SalesScript, load_script
from compliance.scoring.transcript import Transcript, load_transcript

__version__ = "0.1.0"
__all__ = ["CallRecord", "CallResult", "ComplianceError", "SalesScript", "Transcript", "load_script",
           "load_transcript", "score_call", "__version__"]


def __getattr__(name: str):
    # The matcher loads the Russian dictionary; import it only when asked for.
    if name == "score_call":
        from compliance.scoring.score import score_call
        return score_call
    raise AttributeError(name)
