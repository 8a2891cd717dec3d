"""The plain view data every page is rendered from: page models, rows, charts."""
from __future__ import annotations

from typing import Optional, Union

from pydantic import BaseModel, Field

from compliance.history.daily import DAILY_TARGET
from compliance.messages import Message
from compliance.scoring.result import Override
from compliance.scoring.transcript import ChatMetrics, TalkMetrics


class Piece(BaseModel):
    """A run of text with a highlight kind (CSS classes) and an optional anchor."""

    text: str
    kind: str = ""                  # "", "hit", "bad", "miss", "extra", "name", "ph"
    anchor: Optional[str] = None
    title: str = ""
    placeholder: Optional[str] = None  # for kind "ph": the placeholder name, shown translated


class LineView(BaseModel):
    index: int
    script: list[Piece]             # what the script says, words not said marked "miss"
    said: list[Piece]               # what the manager said, words not in the script marked "extra"
    alternatives: list[str] = Field(default_factory=list)
    similarity: float
    grade: str                      # good | fair | poor | none
    start: Optional[float] = None
    href: Optional[str] = None
    found: str = "absent"           # verbatim | meaning | cue | absent
    meaning: Optional[float] = None  # 0–100, how close the manager's sentence is to the line in meaning
    override: Optional[Override] = None  # the lead's decision on this line
    text: str = ""                  # the script line as stored (the web app's forms name it)

    @property
    def own_words(self) -> bool:
        return self.found in ("meaning", "cue")


class StageView(BaseModel):
    id: str
    title: str
    required: bool
    state: str                      # ok | missed | na | optional
    score: float
    start: Optional[float] = None
    href: Optional[str] = None
    lines: list[LineView] = Field(default_factory=list)
    override: Optional[Override] = None  # the lead's decision on this stage
    branch: Optional[str] = None    # a branch stage: "taken" | "not_taken" (None: not a branch)
    excused_by: Optional[str] = None  # title of the taken branch that excuses this stage
    notes: list[Message] = Field(default_factory=list)  # why what was said there did not count (e.g. too early)
    uncertain: bool = False         # its evidence (or absence) rests on words the recogniser was unsure of


class StageRef(BaseModel):
    id: str
    title: str


class ForbiddenView(BaseModel):
    phrase: str
    start: Optional[float] = None
    href: Optional[str] = None
    context: list[Piece] = Field(default_factory=list)
    severity: str = "minor"         # critical: the call is below the band | minor: points off
    uncertain: bool = False         # heard in low-confidence words: shown, not charged


class QualityView(BaseModel):
    """One channel's recognition quality, as the page shows it."""

    speaker: str                    # manager | client | unknown
    rating: str                     # good | fair | poor
    low_confidence: float           # percent of words the recogniser was unsure of
    snr_db: Optional[float] = None
    background_words: int = 0


class OrderView(BaseModel):
    stage: str                      # title of the stage said too early
    before: str                     # title of the stage it came before
    message: str = ""


class TurnView(BaseModel):
    index: int
    anchor: str
    speaker: str
    start: Optional[float] = None
    at: Optional[str] = None        # a chat message's own time, HH:MM (or DD.MM HH:MM on a later day)
    pieces: list[Piece]
    stages: list[StageRef] = Field(default_factory=list)


class CallPage(BaseModel):
    """Everything one call's page shows, as plain values."""

    call_id: str
    file: str
    manager_name: str
    date: Optional[str] = None
    time: Optional[str] = None
    duration: Optional[float] = None
    script_id: str
    script_title: str
    level: str
    band: tuple[float, float]
    connected: bool
    not_connected_reason: Union[Message, str, None] = None
    adherence: Optional[float] = None
    coverage: Optional[float] = None
    structure: Optional[float] = None
    machine_adherence: Optional[float] = None  # the machine's own score, when the lead's decisions changed it
    machine_coverage: Optional[float] = None
    meaning_checked: bool = True
    verdict: Optional[str] = None
    gap: Optional[float] = None     # points below the band's min (verdict below) or above its max
    required_total: int = 0
    required_present: int = 0
    order_ok: bool = True
    missed: list[StageRef] = Field(default_factory=list)
    stages: list[StageView] = Field(default_factory=list)
    forbidden: list[ForbiddenView] = Field(default_factory=list)
    order_violations: list[OrderView] = Field(default_factory=list)
    talk: Optional[TalkMetrics] = None
    chat: Optional[ChatMetrics] = None  # a chat: first response, longest wait, messages
    speakers_known: bool = True
    has_transcript: bool = False
    has_times: bool = False
    turns: list[TurnView] = Field(default_factory=list)
    audio_href: Optional[str] = None
    notes: list[str] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)   # what scoring noted, rendered in the page's language
    verdict_notes: list[Message] = Field(default_factory=list)  # branches, critical phrases, points off, order
    flags: list[Message] = Field(default_factory=list)      # for a lead to check before the call counts
    mono_split: bool = False                                # a one-channel call split by voice (the lead may swap)
    quality: Optional[str] = None   # the recording's recognition quality: good | fair | poor (recordings)
    quality_channels: list[QualityView] = Field(default_factory=list)
    back_href: Optional[str] = None
    prev_href: Optional[str] = None
    next_href: Optional[str] = None


class ChartPoint(BaseModel):
    x: float
    y: float
    label: str = ""
    kind: str = ""
    href: Optional[str] = None


class ChartBar(BaseModel):
    x: float
    y: float
    width: float
    height: float
    value: int
    label: str
    kind: str


class Chart(BaseModel):
    """Geometry of an inline SVG chart (computed here, drawn by a template macro)."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    band_top: Optional[float] = None
    band_bottom: Optional[float] = None
    band_label: str = ""
    y_ticks: list[tuple[float, str]] = Field(default_factory=list)
    x_labels: list[tuple[float, str]] = Field(default_factory=list)
    points: list[ChartPoint] = Field(default_factory=list)
    line: str = ""                  # SVG polyline points
    line_points: list[ChartPoint] = Field(default_factory=list)
    bars: list[ChartBar] = Field(default_factory=list)


class CallRow(BaseModel):
    href: str
    date: Optional[str] = None
    time: Optional[str] = None
    duration: Optional[float] = None
    script_title: str = ""
    connected: bool
    reason: Union[Message, str, None] = None
    adherence: Optional[float] = None
    coverage: Optional[float] = None
    structure: Optional[float] = None
    verdict: Optional[str] = None
    missed: list[str] = Field(default_factory=list)
    forbidden: int = 0
    machine_adherence: Optional[float] = None  # the machine's own score, when the lead's decisions changed it
    flagged: bool = False                      # the verdict waits for the lead (poor recognition, …)


class DayGroup(BaseModel):
    date: Optional[str]
    connected: int                  # contacts: connected calls and chats the client replied in
    calls: list[CallRow]            # the day's calls and chats
    chats: int = 0
    chats_replied: int = 0


class PeriodStats(BaseModel):
    key: str                        # day | week | month | all
    start: Optional[str] = None
    end: Optional[str] = None
    calls: int = 0
    connected: int = 0
    mean_adherence: Optional[float] = None
    mean_structure: Optional[float] = None
    share_in_band: Optional[float] = None
    per_day: Optional[float] = None  # contacts (connected calls and replied chats) per working day
    chats: int = 0                  # chats apart from calls (``calls``/``connected`` are calls only)
    chats_replied: int = 0


class StageRate(BaseModel):
    id: str
    title: str
    script_title: str = ""
    required: bool = True
    applicable: int
    present: int
    rate: float                     # 0–100
    mean_score: float


class LineRate(BaseModel):
    stage_title: str
    text: str
    script_title: str = ""
    calls: int
    mean_similarity: float


class PhraseCount(BaseModel):
    phrase: str
    count: int
    calls: int


class ReadinessView(BaseModel):
    level: str
    state: str                      # ready | not_ready | unknown | review | ok
    window: int
    calls_considered: int
    share_in_band: Optional[float] = None  # 0–100
    mean_adherence: Optional[float] = None
    stages: list[tuple[str, float, bool]] = Field(default_factory=list)  # title, presence 0–100, weak
    calls_below: int = 0
    reasons: list[Union[Message, str]] = Field(default_factory=list)
    # Deal outcomes beside the wording: (won, closed, rate, low, high) in percent for the manager and the team.
    conversion: Optional[tuple[int, int, float, float, float]] = None
    team_conversion: Optional[tuple[int, int, float, float, float]] = None
    counts: Optional[Message] = None  # which verdicts count toward the decision, in one sentence


class ManagerPage(BaseModel):
    """One manager's page: periods, trend, stages, phrases, daily calls, readiness, every call."""

    name: str
    slug: str
    level: str
    band: Optional[tuple[float, float]] = None
    as_of: Optional[str] = None
    first_date: Optional[str] = None
    last_date: Optional[str] = None
    periods: list[PeriodStats]
    trend: Optional[Chart] = None
    daily: Optional[Chart] = None
    daily_target: tuple[int, int] = DAILY_TARGET
    stages: list[StageRate] = Field(default_factory=list)
    forbidden: list[PhraseCount] = Field(default_factory=list)
    readiness: Optional[ReadinessView] = None
    days: list[DayGroup] = Field(default_factory=list)
    total_calls: int = 0
    meaning_unchecked: int = 0      # connected calls scored by words only (the meaning model could not run)
    has_chats: bool = False         # chats are shown apart from calls
    # A long range (a year): ``days`` lists only the last ``listed_days`` days with calls, every month has its page.
    listed_days: Optional[int] = None
    months: list["MonthRow"] = Field(default_factory=list)


class MonthRow(PeriodStats):
    """One month of a manager's calls: its figures and the page that lists its calls."""

    href: str


class MonthPage(BaseModel):
    """One manager's calls of one month, by day (a long report's manager page links one per month)."""

    name: str
    month: PeriodStats
    days: list[DayGroup] = Field(default_factory=list)
    back_href: str = "../index.html"


class TeamRow(BaseModel):
    name: str
    href: str
    level: str
    calls: int
    connected: int
    today_connected: int            # today's contacts: connected calls and chats the client replied in
    today_calls: int = 0            # of which connected calls
    today_chats: int = 0            # of which replied chats
    mean_adherence: Optional[float] = None
    mean_structure: Optional[float] = None
    share_in_band: Optional[float] = None
    band: Optional[tuple[float, float]] = None
    spark: Optional[Chart] = None
    delta: Optional[float] = None   # mean of the last 7 days minus the 7 before, points
    readiness: Optional[ReadinessView] = None


class Failure(BaseModel):
    file: str
    reason: str


class TeamPage(BaseModel):
    """The lead's overview: a row per manager, the team's weakest stages and lines, batch failures."""

    as_of: Optional[str] = None
    first_date: Optional[str] = None
    last_date: Optional[str] = None
    total_calls: int = 0
    connected: int = 0
    mean_adherence: Optional[float] = None
    mean_structure: Optional[float] = None
    share_in_band: Optional[float] = None
    daily_target: tuple[int, int] = DAILY_TARGET
    rows: list[TeamRow] = Field(default_factory=list)
    weakest_stages: list[StageRate] = Field(default_factory=list)
    weakest_lines: list[LineRate] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    meaning_unchecked: int = 0      # connected calls scored by words only (the meaning model could not run)
    has_chats: bool = False         # chats are shown apart from calls
ManagerPage.model_rebuild()   # its month rows are defined after it
