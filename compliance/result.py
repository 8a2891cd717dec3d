"""The scored call: what every later step (store, reports, export) reads."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from .transcript import TalkMetrics

Verdict = Literal["below", "within", "above"]


class LineResult(BaseModel):
    """How well one script line (or its best alternative) was said."""

    text: str                         # the script line (the best alternative for ``any:``)
    similarity: float                 # 0–100; 0 when nothing above the noise floor was found
    matched: Optional[str] = None     # the manager's words that matched, as said
    start: Optional[float] = None     # seconds into the call, when known
    end: Optional[float] = None
    turn: Optional[int] = None        # index of the transcript segment where the match starts
    alternatives: list[str] = Field(default_factory=list)
    paraphrase: bool = False          # found through a cue: said in the manager's own words
    cue: Optional[str] = None         # the cue that matched, when ``paraphrase``


class StageResult(BaseModel):
    id: str
    title: str = ""
    required: bool = True
    weight: float = 1.0
    score: float                      # mean of the lines' similarities, 0–100
    present: bool
    applies: bool = True              # False: a non-required stage not said, or excluded by a branch
    start: Optional[float] = None
    turn: Optional[int] = None
    lines: list[LineResult] = Field(default_factory=list)


class ForbiddenHit(BaseModel):
    phrase: str
    matched: str
    start: Optional[float] = None
    turn: Optional[int] = None


class OrderViolation(BaseModel):
    stage: str                        # the stage said too early
    before: str                       # the earlier required stage it came before
    message: str


class CallResult(BaseModel):
    """The score of one call against one script at one level."""

    file: Optional[str] = None
    manager: Optional[str] = None     # who made the call, when known (``analyze --manager``, batch)
    script_id: str
    script_title: str = ""
    script_hash: str = ""
    level: str
    band: tuple[float, float]
    connected: bool
    not_connected_reason: Optional[str] = None
    speakers_known: bool = True
    adherence: Optional[float] = None  # None when not connected
    coverage: Optional[float] = None
    verdict: Optional[Verdict] = None
    order_ok: bool = True
    order_violations: list[OrderViolation] = Field(default_factory=list)
    stages: list[StageResult] = Field(default_factory=list)
    forbidden: list[ForbiddenHit] = Field(default_factory=list)
    duration: Optional[float] = None
    talk: Optional[TalkMetrics] = None
    notes: list[str] = Field(default_factory=list)

    @property
    def missing_required(self) -> list[StageResult]:
        return [s for s in self.stages if s.required and s.applies and not s.present]


class CallRecord(BaseModel):
    """A scored call with who made it and when: what the store keeps and the reports show."""

    call_id: str                      # stable id (content hash of the recording or transcript)
    file: str                         # path of the recording or transcript as found
    manager: str                      # roster key (slug-like), e.g. "ivanova"
    manager_name: str = ""            # display name, e.g. "Иванова Мария"
    date: Optional[str] = None        # ISO date of the call, YYYY-MM-DD
    time: Optional[str] = None        # HH:MM:SS when known
    level: str = "newcomer"
    result: CallResult
    transcript: Optional["Transcript"] = None
    audio: Optional[str] = None       # path of the recording, for the report's player
    model: Optional[str] = None
    analysed_at: Optional[str] = None


from .transcript import Transcript  # noqa: E402  (forward reference above)

CallRecord.model_rebuild()
