"""The seam between the call scorer and its line scorers (words, meaning), and the options they share.

A line scorer reads the manager's speech and says, for every line of every stage, what evidence it found:
``LineEvidence`` (how it was found, wording similarity, meaning score, where). ``match.score_call`` asks each
scorer in turn and keeps, per line, the best evidence; adding a scorer means writing one class with a
``score_lines`` method, not another branch in the matcher.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol

from pydantic import BaseModel, Field

from compliance.scoring.result import Found, Span
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Segment


class MatchOptions(BaseModel):
    """Thresholds of the matcher; the word thresholds are tuned on the labelled set in tests/fixtures/calls."""

    credit_low: float = Field(default=65.0, description="Token similarity below which a word earns nothing.")
    credit_high: float = Field(default=90.0, description="Token similarity from which a word earns full credit.")
    noise_floor: float = Field(default=55.0, description="A line scoring below this is reported as not found (0).")
    line_present: float = Field(default=60.0, description="A stage is present when one of its lines reaches this.")
    cue_threshold: float = Field(default=80.0, description="A paraphrase cue counts from this similarity.")
    paraphrase_credit: float = Field(default=60.0, description="What a line said in own words (a cue) is worth.")
    forbidden_similarity: float = Field(default=80.0, description="Per-word similarity for a forbidden phrase.")
    min_words: int = Field(default=25, description="Fewer words in the whole call: not connected.")
    min_client_words: int = Field(default=5, description="The client said fewer words: not connected.")
    min_turns: int = Field(default=4, description="Fewer alternating turns: a hang-up, not connected.")
    min_party_speech: float = Field(default=3.0, description="Seconds each party must speak (audio).")
    min_two_party_speech: float = Field(default=10.0, description="Seconds both parties must speak together (audio).")
    meaning: bool = Field(default=True, description="Recognise lines said in own words by meaning (embeddings).")
    meaning_margin: float = Field(
        default=0.01,
        description="A sentence is evidence for a stage when its cosine to that stage's lines beats every other "
                    "stage and the background of ordinary talk by this margin.")
    meaning_credit: float = Field(
        default=60.0, description="What a line, or a present stage, said in the manager's own words is worth.")
    branch_meaning: float = Field(
        default=90.0, description="A branch (``excludes:``) said in own words is taken only when its claim's "
                                  "meaning score reaches this: a stricter bar than an ordinary stage's.")
    branch_meaning_followed: float = Field(
        default=85.0, description="The bar for a branch's claim in own words when the branch's other lines (the "
                                  "future-cooperation question) follow it: two acts together are the proof.")


@dataclass
class LineEvidence:
    """What one scorer found for one script line."""

    found: Found = Found.ABSENT
    similarity: float = 0.0             # 0–100 wording credit
    meaning: Optional[float] = None     # 0–100 cosine of the evidence sentence to the line
    text: str = ""                      # the alternative that matched best
    matched: Optional[str] = None       # the manager's words, as said
    cue: Optional[str] = None
    span: Optional[Span] = None
    end: Optional[float] = None         # time of the evidence's last word
    # Other sentences that could stand for the line, best first: what takes its place when this evidence is
    # dropped (it does not do the stage's act, or is said where the stage cannot do its job).
    fallbacks: list["LineEvidence"] = field(default_factory=list)

    @property
    def said(self) -> bool:
        return self.found is not Found.ABSENT


@dataclass
class CallText:
    """The part of a call the scorers read: the segments and which speakers count as the manager."""

    segments: list[Segment]
    speakers: set[str]
    cache: dict[str, object] = field(default_factory=dict)  # per-call work scorers share (tokens, sentences)


class LineScorer(Protocol):
    """Finds script lines in what the manager said."""

    name: str

    def score_lines(self, call: CallText, script: SalesScript, opts: MatchOptions) -> list[list[LineEvidence]]:
        """Evidence for every line of every stage (stage → line), ``Found.ABSENT`` where there is none."""
        ...
