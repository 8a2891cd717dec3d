"""A call as a PBX reports it, the same for every vendor, and the one-line status a fetch gives each call."""
from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Iterator, Literal, Optional, Protocol

from pydantic import BaseModel

from compliance.messages import Message

if TYPE_CHECKING:
    from compliance.sources.http import Http

SIDECAR_SUFFIX = ".pbx.json"  # beside each fetched recording: its PBX metadata (never a transcript)
Direction = Literal["in", "out"]
Disposition = Literal["answered", "no_answer", "busy", "failed"]


class PbxCall(BaseModel):
    """One call: the PBX's own id (its stable identity), who, when, how it ended, and what the record request
    needs (``record_ref``)."""

    provider: str
    call_id: str
    direction: Direction
    client: str = ""                       # the client's number; masked on manager-facing pages if asked
    start: dt.datetime                     # PBX local time
    talk_seconds: int = 0
    disposition: Disposition
    extension: str = ""                    # the employee's internal number
    employee: str = ""                     # the employee's name in the PBX, when it says
    has_record: bool = False
    record_ref: str = ""

    @property
    def date(self) -> str:
        return self.start.date().isoformat()

    @property
    def scorable(self) -> bool:
        """Answered with a recording: fetched and scored. Anything else is a dial, counted only."""
        return self.disposition == "answered" and self.has_record


class CallStatus(BaseModel):
    """What a fetch did with one call: one line in the run's output (``status`` is a fixed word to grep for)."""

    call_id: str
    status: str          # fetched | present | dial | unassigned | failed | gone
    note: Message
    file: Optional[str] = None

    @property
    def message(self) -> str:
        return self.note.text("en")

    def line(self, lang: str = "ru") -> str:
        return f"{self.call_id}: {self.status} — {self.note.text(lang)}"


class Provider(Protocol):
    """A cloud PBX: its calls for a period, and a fresh link to one call's recording."""

    name: str
    http: "Http"

    def calls(self, since: dt.date, until: dt.date) -> Iterator[PbxCall]: ...

    def record_link(self, call: PbxCall) -> str: ...

    def close(self) -> None: ...


def safe_id(call_id: str) -> str:
    """A PBX id as part of a file name: letters, digits, '.', '-' only."""
    return re.sub(r"[^0-9A-Za-z.-]", "_", call_id)[:80] or "call"


def mask_number(number: str) -> str:
    """``+380 99 ***-**-67``: enough to tell two clients apart, not enough to call them."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 6:
        return "*" * len(digits)
    return digits[:5] + "*" * (len(digits) - 7) + digits[-2:]
