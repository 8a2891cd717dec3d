"""The scored call: what every later step (store, reports, export) reads."""
from __future__ import annotations

from typing import Iterable, Literal, Optional

from pydantic import BaseModel, Field

from compliance.messages import Message
from compliance.scoring.choices import Choice, Level  # noqa: F401 - Level is read from here too
from compliance.scoring.quality import RecognitionQuality
from compliance.scoring.transcript import ChatMetrics, Parties, TalkMetrics


class Verdict(Choice):
    """Where a value stands against its band (adherence vs the level's band, calls vs the daily target)."""

    BELOW = "below"
    WITHIN = "within"
    ABOVE = "above"


IN_BAND = (Verdict.WITHIN, Verdict.ABOVE)  # verdicts that meet the band (a newcomer above it is doing well)


def share_in_band(verdicts: "Iterable[Optional[Verdict]]") -> Optional[float]:
    """Percent of the scored calls (a verdict given) that meet their band; None when none was scored."""
    scored = [v for v in verdicts if v is not None]
    return 100.0 * sum(1 for v in scored if v in IN_BAND) / len(scored) if scored else None


def band_verdict(value: float, band: tuple[float, float]) -> Verdict:
    """The one rule for below / within / above: ``band`` is inclusive at both ends."""
    if value < band[0]:
        return Verdict.BELOW
    return Verdict.ABOVE if value > band[1] else Verdict.WITHIN


class Outcome(Choice):
    """What a batch did with a file."""

    ANALYSED = "analysed"
    RESCORED = "rescored"
    SKIPPED = "skipped"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    UNATTRIBUTED = "unattributed"


class Found(Choice):
    """How a script line was found in what the manager said."""

    VERBATIM = "verbatim"   # the script's wording (the word matcher)
    MEANING = "meaning"     # the manager's own words, recognised by meaning (sentence embeddings)
    CUE = "cue"             # the manager's own words, recognised by a paraphrase cue of the script
    ABSENT = "absent"


class Span(BaseModel):
    """Where the evidence stands: the turn (transcript segment), character offsets in it, and the time."""

    turn: int
    char_start: int
    char_end: int                     # offset in ``turn_end``'s text
    turn_end: Optional[int] = None    # the last turn when the evidence runs over two (None: same turn)
    start: Optional[float] = None     # seconds into the call, when known


class Override(BaseModel):
    """The lead's decision on a stage or a line: present or absent, by whom, when, why."""

    present: bool
    by: str
    at: str                           # ISO date and time of the decision
    note: str = ""
    machine_present: Optional[bool] = None  # what the machine had decided
    stale: bool = False               # the call's content changed after the decision: the lead should check it


class LineResult(BaseModel):
    """How well one script line (or its best alternative) was said."""

    text: str                         # the script line (the best alternative for ``any:``)
    similarity: float                 # 0–100: the line's credit (its wording, or the meaning credit when said
                                      # in own words); 0 when nothing was found
    wording: float = 0.0              # 0–100: how close the manager's words are to the script's (word matcher)
    matched: Optional[str] = None     # the manager's words that matched, as said
    start: Optional[float] = None     # seconds into the call, when known
    end: Optional[float] = None
    turn: Optional[int] = None        # index of the transcript segment where the match starts
    alternatives: list[str] = Field(default_factory=list)
    paraphrase: bool = False          # said in the manager's own words (a cue or its meaning)
    cue: Optional[str] = None         # the cue that matched, when found through a cue
    found: Found = Found.ABSENT       # how the line was found
    meaning: Optional[float] = None   # 0–100: how close the manager's sentence is to the line in meaning
    span: Optional[Span] = None       # where the evidence is, stored so reports never search for it again
    override: Optional[Override] = None  # the lead's decision, when there is one (compliance.review)


class StageResult(BaseModel):
    id: str
    title: str = ""
    required: bool = True
    weight: float = 1.0
    score: float                      # 0–100: the lines' credits (wording), at least the meaning credit when present
    present: bool                     # said, by words or by meaning
    applies: bool = True              # False: a non-required stage not said, or excluded by a branch
    notes: list[Message] = Field(default_factory=list)  # why evidence found for it was not credited
    start: Optional[float] = None
    turn: Optional[int] = None
    lines: list[LineResult] = Field(default_factory=list)
    override: Optional[Override] = None  # the lead's decision, when there is one (compliance.review)
    excludes: list[str] = Field(default_factory=list)  # a branch: the stages it excuses when taken
    branch: Optional[bool] = None     # a branch: the machine found it proven taken (None: not a branch)
    branch_why: Optional[str] = None  # a branch said but not taken: weak | before_request | competing | no_follow_up
    uncertain: bool = False           # its only evidence (or, on a poorly recognised call, its absence) rests on
                                      # words the recogniser was unsure of: shown for the lead to check


class ForbiddenHit(BaseModel):
    phrase: str
    matched: str
    start: Optional[float] = None
    turn: Optional[int] = None
    severity: Literal["critical", "minor"] = "minor"  # critical: the call is below the band; minor: points off
    uncertain: bool = False           # heard in low-confidence words: shown, not charged until confirmed


class OrderViolation(BaseModel):
    stage: str                        # the stage said too early
    before: str                       # the earlier required stage it came before
    message: str


class ReviewFlag(BaseModel):
    """Something a lead must check before the call counts (e.g. ``speakers_not_separated``): reports show it, and
    readiness leaves the call out until a lead confirms it. Any code; the catalogues name the known ones."""

    code: str
    detail: str = ""


def review_flag(message: Message) -> ReviewFlag:
    """A flag from what an earlier step noted (its code; its values, as ``name=value``, for the detail)."""
    return ReviewFlag(code=message.code, detail=", ".join(f"{k}={v}" for k, v in message.params.items()))


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
    not_connected_reason: Optional[str] = None   # why not, in Russian (the CLI and older readers)
    not_connected: Optional[Message] = None      # why not, as a code: reports render it in their language
    speakers_known: bool = True
    adherence: Optional[float] = None  # None when not connected
    coverage: Optional[float] = None
    structure: Optional[float] = None  # 0–100: required stages present (by words or meaning), weighted
    meaning_checked: bool = True       # False: the meaning model could not run; scored by words only
    channel: Literal["call", "chat"] = "call"
    verdict: Optional[Verdict] = None
    order_ok: bool = True
    order_violations: list[OrderViolation] = Field(default_factory=list)
    order_points: Optional[float] = 0.0  # points a stage said out of order costs (script ``order:``); None: ignored
    script_adherence: Optional[float] = None  # adherence before the points off for forbidden phrases and order
    forbidden_penalty: float = 0.0    # points off adherence for minor forbidden phrases
    order_penalty: float = 0.0        # points off adherence for stages said out of order
    verdict_without_order: Optional[Verdict] = None  # set only when the order points changed the verdict
    verdict_notes: list[Message] = Field(default_factory=list)  # what besides the stages decided the verdict
    verdict_reasons: list[str] = Field(default_factory=list)    # the same, in Russian words (CLI, JSON readers)
    stages: list[StageResult] = Field(default_factory=list)
    forbidden: list[ForbiddenHit] = Field(default_factory=list)
    duration: Optional[float] = None
    talk: Optional[TalkMetrics] = None
    chat: Optional[ChatMetrics] = None  # a chat: the manager's first-response time, the client's longest wait
    notes: list[str] = Field(default_factory=list)          # what recognition noted (as it wrote it)
    messages: list[Message] = Field(default_factory=list)   # what scoring noted, as codes
    flags: list[ReviewFlag] = Field(default_factory=list)   # for a lead to check; readiness skips until confirmed
    parties: Optional[Parties] = None  # a one-channel call split by voice: which party is the manager, how sure
    quality: Optional[RecognitionQuality] = None            # how well the recording was recognised (recordings)

    @property
    def charged_forbidden(self) -> list[ForbiddenHit]:
        """The forbidden phrases held against the manager: not those heard only in low-confidence words."""
        return [h for h in self.forbidden if not h.uncertain]

    @property
    def missing_required(self) -> list[StageResult]:
        return [s for s in self.stages if s.required and s.applies and not s.present]

    @property
    def critical(self) -> list[ForbiddenHit]:
        """Critical forbidden phrases the manager said: each one puts the call below the band."""
        return [h for h in self.charged_forbidden if h.severity == "critical"]

    @property
    def taken_branches(self) -> list[StageResult]:
        """Branch stages taken in this call (proven by the machine, or as the lead decided)."""
        return [s for s in self.stages if s.excludes and branch_taken(s)]


def branch_taken(stage: StageResult) -> bool:
    """Whether a branch stage was taken: the lead's decision when there is one, else the machine's proof."""
    return stage.override.present if stage.override is not None else bool(stage.branch)


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
    machine: Optional[CallResult] = None  # the machine's own result, when the lead's decisions changed it

    @property
    def awaiting_review(self) -> bool:
        """A review flag (poor recognition, …) the lead has not acted on: the call does not count toward readiness
        until the lead confirms or overrides (their decisions make a result of their own)."""
        return bool(self.result.flags) and self.machine is None


from compliance.scoring.transcript import Transcript  # noqa: E402  (forward reference above)

CallRecord.model_rebuild()
