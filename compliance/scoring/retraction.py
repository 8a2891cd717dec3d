"""An offer taken back: the manager says "no" to what they promised, and nothing they say later stands for it.

«Да, мы можем это сделать для вас. Ой, нет, подождите… я не могу вам этого обещать» is no offer, and a payment
question asked after it («Когда вы планируете оплату?» — «За что платить-то?») has nothing to pay for. A refusal
of a side detail is not a retraction: the manager promises again after it («в выходные не сможем — сделаем в
будни»; «двадцать не сможем, пять — да», then «пришлю предложение»), or the sale goes on as before.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence

from compliance.messages import Message
from compliance.scoring.acts import RULES, Act, drop, promises, says_no_to
from compliance.scoring.embeddings import split_sentences
from compliance.scoring.transcript import Segment
from compliance.scoring.turns import turn_ids

if TYPE_CHECKING:
    from compliance.scoring.scorer import LineEvidence

_SALE_GOES_ON = (Act.PAYMENT, Act.NEXT_STEP)


def _sentences_after(segments: Sequence[Segment], turns: list[int], turn: int, char: int) -> list[tuple[int, str]]:
    """The manager's sentences after character ``char`` of segment ``turn``: (segment, text), in order."""
    out = []
    for i in range(turn, len(segments)):
        if turns[i] < 0:
            continue
        out += [(i, x.text) for x in split_sentences(segments[i].text, i) if i > turn or x.char_start >= char]
    return out


def withdraw_retracted(acts: Sequence[Optional[Act]], segments: Sequence[Segment], speakers: set[str],
                       evidence: "list[list[list[LineEvidence]]]") -> dict[int, Message]:
    """An act taken back: after its evidence (later in the turn, or in a later turn) the manager says "no" to its
    words («Ой, нет… я не могу вам этого обещать»), and either the sale stops there (no payment or next step
    after the "no") or nothing said after the "no" commits to the request again. The stages that must follow
    the act (a payment question) and were said after the "no" are dropped too. Returns, per stage index, why its
    evidence was dropped. ``evidence`` is scorer → stage → line, changed in place."""
    notes: dict[int, Message] = {}
    turns = turn_ids(segments, speakers)
    for s, act in enumerate(acts):
        if act is None or not RULES[act].retracted:
            continue
        spans = [line.span for per_stage in evidence for line in per_stage[s] if line.said and line.span]
        if not spans:
            continue
        last = max(span.turn_end if span.turn_end is not None else span.turn for span in spans)
        end = max(span.char_end for span in spans
                  if (span.turn_end if span.turn_end is not None else span.turn) == last)
        after = _sentences_after(segments, turns, last, end) if turns[last] >= 0 else []
        topic = RULES[act].topic or RULES[act].markers
        at = next((k for k, (_, text) in enumerate(after) if says_no_to(text, topic)), None)
        if at is None:
            continue
        no = after[at][0]
        goes_on = any(line.said and line.span and line.span.turn > no
                      for per_stage in evidence for t, lines in enumerate(per_stage) if acts[t] in _SALE_GOES_ON
                      for line in lines)
        if goes_on and any(promises(text) for _, text in after[at + 1:]):  # a side detail refused
            continue
        for per_stage in evidence:
            for line in per_stage[s]:
                drop(line, all_of_it=True)
        notes[s] = Message(code="stage_retracted")
        for t, other in enumerate(acts):  # what had to follow the act has nothing to follow
            if other is not None and RULES[other].after[:1] == (act,) and _drop_after(evidence, t, no):
                notes[t] = Message(code="stage_after_retracted")
    return notes


def _drop_after(evidence: "list[list[list[LineEvidence]]]", stage: int, turn: int) -> bool:
    dropped = False
    for per_stage in evidence:
        for line in per_stage[stage]:
            while line.said and line.span is not None and line.span.turn >= turn:
                drop(line)
                dropped = True
    return dropped
