"""The one error hierarchy: core code raises these, the CLI turns them into ``Error: …`` once."""
from __future__ import annotations


class ComplianceError(Exception):
    """Base of every error the tool reports to a person."""

    def __str__(self) -> str:
        # A message may quote a file name that is not UTF-8: show it escaped, never fail to print it.
        return super().__str__().encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class ScriptError(ComplianceError):
    """A sales script file is missing, unreadable or invalid."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class TranscriptError(ComplianceError):
    """A transcript file cannot be read or has the wrong shape."""


class NotTextError(TranscriptError):
    """A file given as a transcript or chat is not text at all (a recording, an archive, a binary)."""


class AudioError(ComplianceError):
    """A recording cannot be decoded."""


class ModelError(ComplianceError):
    """The speech model is missing or cannot be loaded."""


class StoreError(ComplianceError):
    """The history database cannot be used."""


class ReportError(ComplianceError):
    """Reports cannot be rendered or written."""


class TeamError(ComplianceError):
    """The roster file is missing, unreadable or invalid, or names an unknown manager."""


class AttributionError(ComplianceError):
    """A manifest or a filename pattern is unusable."""


class CrmError(ComplianceError):
    """A CRM (Pipedrive) cannot be reached, refuses the token, or rejects a request.

    ``status`` is the HTTP status (None: no answer); ``fatal`` says whether the next call would fail the same way
    (a bad token, no permission, the service down), so a push stops instead of failing call after call.
    """

    def __init__(self, message: str, status: int | None = None, fatal: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.fatal = fatal


class ReviewError(ComplianceError):
    """A review action cannot be done: an unknown call, stage, account or dispute, or a bad value."""


class SourceError(ComplianceError):
    """A telephony source (a cloud PBX, a watched folder) refuses, fails or sends something unusable.

    ``fatal`` says whether the next request would fail the same way (a wrong key, a disabled account), so a fetch
    stops instead of failing call after call; ``gone`` that the PBX no longer has what was asked for (a recording
    deleted or never kept): the call is listed, not retried.
    """

    def __init__(self, message: str, *, fatal: bool = False, gone: bool = False) -> None:
        super().__init__(message)
        self.fatal = fatal
        self.gone = gone
