"""Score a call against a sales script: the line scorers' evidence becomes stages, adherence and a verdict.

Everything here is pure and fast: a transcript and a script in, a ``CallResult`` out. The line scorers
(``scorer.LineScorer``) find the evidence: ``words.WordScorer`` the script's wording and its cues,
``semantic.MeaningScorer`` lines said in the manager's own words. This module keeps, per line, the best of their
evidence, credits it (wording for a newcomer; a stage said in own words earns ``meaning_credit``), applies the
script's branches, checks the order of stages and adds the forbidden phrases.
"""
from __future__ import annotations

from typing import Iterable, Optional

import numpy as np

from compliance.messages import Message
from compliance.scoring.acts import (
    asks_later,
    drop,
    judge_evidence,
    place_evidence,
    refuses_request,
    require_introduction,
    require_substance,
)
from compliance.scoring.confidence import flag_uncertain_verdict, review_recognition
from compliance.scoring.connection import VOICEMAIL_MARKERS, check_connected, connection
from compliance.scoring.embeddings import embedder_failure, split_sentences
from compliance.scoring.result import (
    CallResult,
    Found,
    LineResult,
    OrderViolation,
    Span,
    StageResult,
    review_flag,
)
from compliance.scoring.retraction import withdraw_retracted
from compliance.scoring.scorer import CallText, LineEvidence, LineScorer, MatchOptions
from compliance.scoring.script import BandTable, SalesScript
from compliance.scoring.semantic import meaning_scorer
from compliance.scoring.transcript import Transcript
from compliance.scoring.verdict import settle_branches, summarise
from compliance.scoring.verifier import verify_evidence, weights_digest
from compliance.scoring.words import WordScorer, forbidden_hits
from compliance.text.catalogue import say

# The script's wording said clearly (a line's word similarity): enough to outweigh evidence by meaning.
CLEAR_WORDING = 80.0

__all__ = ["MatchOptions", "VOICEMAIL_MARKERS", "check_connected", "choose_script", "score_call", "stage_credit",
           "summarise"]

# Stored scores made by another version of the scorer are re-scored by the next batch.
SCORER_VERSION = f"10-taken-back-{weights_digest()}"  # 10: a payment question about the delivery or the
# work («Монтаж будете делать сразу или частями?») is not the stage; a question line inside a statement that says
# "no" («Не буду спрашивать, когда вы планируете оплату») is not asked; an offer taken back (later in its turn
# too) and never promised again is withdrawn, and a payment question after it has nothing to pay for; an
# introduction the client cut off («Меня зовут…» — «Да мне всё равно») is not said.
# 9: a branch is the refusal of the request and
# the question about later, after the needs (in own words too), and not taken where the sale goes on; a payment
# question before the offer is not the stage. 8: a learned verifier per act (needs, offer, payment, next step) keeps,
# drops or adds own-words evidence (``verifier``). 7: an offer needs a commitment and a next step an action or a time
# in the turn that says it; an offer taken back while the sale stops is withdrawn; near wording must do the act;
# a question's word opens it; a counter-question takes its topic from the client's question.
# 6: a greeting needs the introduction; an offer follows the
# client's first words; a required stage missing puts the call below; the next sentence stands in for dropped
# evidence; wording outweighs meaning in one sentence; a clear offer line in the refusal's turn competes.
# 5: credit needs the stage's act, in its place, in one turn; whole-sentence
# evidence; branches need proof; forbidden severity and order cost points. 3: «оставьте, пожалуйста, сообщение»


def _line_result(alternatives: list[str], words: LineEvidence, meaning: Optional[LineEvidence],
                 opts: MatchOptions) -> LineResult:
    """One line from the scorers' evidence: the wording when it was said, else a cue, else its meaning."""
    if words.found is not Found.ABSENT or meaning is None or not meaning.said:
        chosen = words
        found = words.found
    else:
        chosen, found = meaning, Found.MEANING
    credit = words.similarity
    if meaning is not None and meaning.said:
        credit = max(credit, opts.meaning_credit)
    line = LineResult(
        text=words.text or alternatives[0], similarity=round(credit, 1), wording=words.similarity, found=found,
        alternatives=alternatives if len(alternatives) > 1 else [],
        paraphrase=found in (Found.MEANING, Found.CUE), cue=words.cue if found is Found.CUE else None,
        meaning=meaning.meaning if meaning is not None else None,
    )
    if chosen.span is not None:
        line.matched, line.span, line.end = chosen.matched, chosen.span, chosen.end
        line.start, line.turn = chosen.span.start, chosen.span.turn
    return line


def _position(line: LineResult, transcript: Transcript) -> float:
    """Where a line was said, as a number that orders the call: turn + share of the turn's text before it."""
    assert line.span is not None
    text = transcript.segments[line.span.turn].text
    return line.span.turn + line.span.char_start / (len(text) + 1)


def _stage_results(script: SalesScript, transcript: Transcript, evidence: list[list[list[LineEvidence]]],
                   opts: MatchOptions) -> tuple[list[StageResult], dict[str, float]]:
    stages, positions = [], {}
    for s, stage in enumerate(script.stages):
        lines = [_line_result(alts, evidence[0][s][i], evidence[1][s][i] if len(evidence) > 1 else None, opts)
                 for i, alts in enumerate(stage.alternatives())]
        said = [line for line in lines if line_said(line)]
        result = StageResult(id=stage.id, title=stage.title, required=stage.required, weight=stage.weight,
                             score=stage_credit(lines, opts), present=bool(said), lines=lines)
        if said:
            # Where the stage was said, for the order check: the middle of its best-said lines, so that one
            # stray phrase elsewhere in the call does not move the stage.
            top = max(line.similarity for line in said)
            positions[stage.id] = float(np.median([_position(x, transcript) for x in said if x.similarity == top]))
            first = min(said, key=lambda x: _position(x, transcript))
            result.start, result.turn = first.start, first.turn
        stages.append(result)
    return stages, positions


def line_said(line: LineResult) -> bool:
    """Whether a line counts as said: the lead's decision when there is one, else the scorers' evidence."""
    return line.override.present if line.override is not None else line.found is not Found.ABSENT


def stage_credit(lines: list[LineResult], opts: MatchOptions) -> float:
    """A stage's score from its lines' credits."""
    score = sum(line.similarity for line in lines) / len(lines) if lines else 0.0
    if any(line_said(line) for line in lines):
        # A stage said in own words is worth the meaning credit, however few of its lines were said.
        score = max(score, opts.meaning_credit)
    return round(score, 1)


def _first_evidence(stage: StageResult, transcript: Transcript, claim_only: bool = False) -> Optional[float]:
    lines = stage.lines[:1] if claim_only else stage.lines
    said = [_position(x, transcript) for x in lines if line_said(x) and x.span is not None]
    return min(said) if said else None


def _prove_branches(script: SalesScript, stages: list[StageResult], transcript: Transcript,
                    opts: MatchOptions) -> None:
    """Decide, for each branch stage said, whether the call took that branch (``branch``, ``branch_why``).

    The branch's first line is its claim («мы не сможем выполнить ваш запрос»). The branch is taken only when
    the claim was said word for word, or in own words close enough (``branch_meaning``, a stricter bar than an
    ordinary stage's; ``branch_meaning_followed`` where the future-cooperation question follows the claim);
    after the client's request was heard (the stage before the first excused stage has evidence, and the client
    spoke between it and the claim); with no competing evidence of what the branch replaces (the first excused
    stage, e.g. the offer: ``_competes``); and followed by the branch's other lines (the future-cooperation
    question: ``_followed_up``).
    """
    by_id = {s.id: s for s in stages}
    order = [s.id for s in script.stages]
    for stage in stages:
        if not stage.excludes:
            continue
        stage.branch, stage.branch_why = False, None
        first = min(order.index(x) for x in stage.excludes)
        before = [sid for sid in order[:first] if sid != stage.id]  # the request: the last stage before them
        request = by_id[before[-1]] if before else None
        claim = stage.lines[0]
        at = _first_evidence(stage, transcript, claim_only=True)
        followed = at is not None and _followed_up(stage, at, transcript)
        bar = opts.branch_meaning_followed if followed else opts.branch_meaning
        # Followed by the question about later, the script's own refusal cue («не возьмёмся») is proof enough.
        strong = claim.found is Found.VERBATIM or (claim.found is Found.CUE and followed) or (
            claim.found in (Found.MEANING, Found.CUE) and (claim.meaning or 0.0) >= bar)
        if not strong and request is not None and _own_refusal(stage, request, transcript, opts):
            at, strong = _first_evidence(stage, transcript, claim_only=True), True
        if not strong or at is None:
            if stage.present:
                stage.branch_why = "weak"
            continue
        heard = request is None or _heard_before(request, at, transcript)
        if not heard:
            stage.branch_why = "before_request"
            continue
        if _competes(by_id[order[first]], at, claim.span, transcript) or _sale_goes_on(
                [by_id[x] for x in stage.excludes if x in by_id], at, transcript):
            stage.branch_why = "competing"
            continue
        if not _followed_up(stage, at, transcript):
            stage.branch_why = "no_follow_up"
            continue
        stage.branch = True


def _followed_up(stage: StageResult, at: float, transcript: Transcript) -> bool:
    """The branch's other lines (the future-cooperation question), when it has any, said at or after its claim.

    A refusal alone is not the branch: the script's branch is the refusal *and* the offer to work together later;
    a manager who says «не сможем» and hangs up (or takes back an offer) has not done the stage.
    """
    rest = stage.lines[1:]
    if not rest:
        return True
    if any(line_said(x) and x.span is not None and _position(x, transcript) >= at
           and _within_reach(x.span.turn, at, transcript) for x in rest):
        return True
    # The question in own words the meaning scorer did not place (it may sound like a next step or an offer:
    # «можно я вас внесу в список на весну и позвоню?»): a manager's question about later, after the claim.
    claim = stage.lines[0].span
    for turn in range(int(at), len(transcript.segments)):
        if not _within_reach(turn, at, transcript):
            break
        segment = transcript.segments[turn]
        if segment.speaker == "client":
            continue
        for sentence in split_sentences(segment.text, turn):
            after = claim is None or turn != claim.turn or sentence.char_start >= claim.char_end
            if after and asks_later(sentence.text):
                return True
    return False


# The question about later follows the refusal: in the refusal's turn or the manager's next two. On the typed sets
# calls_blind … calls_blind13 every branch a person marks taken has it within two of the manager's turns; the side
# refusals and courtesy goodbyes whose «будем на связи» came three turns on or later are not the branch (in
# calls_blind13 call 13 the payment was talked over between: «Вот субботу не получится…» then, at the goodbye,
# «Ну, будем на связи»; calls_blind13 is development data for this number).
_FOLLOW_TURNS = 2


def _within_reach(turn: int, at: float, transcript: Transcript) -> bool:
    """Whether ``turn`` lies at or after the refusal at ``at``, within ``_FOLLOW_TURNS`` of the manager's turns after
    its own. Without known speakers (one voice heard, scored on all words, its pieces cut at every pause) there are
    no turns to count: anywhere after it."""
    if turn < int(at):
        return False
    if not transcript.speakers_known:
        return True
    return sum(1 for segment in transcript.segments[int(at) + 1:turn + 1] if segment.speaker == "manager") \
        <= _FOLLOW_TURNS


def _own_refusal(stage: StageResult, request: StageResult, transcript: Transcript, opts: MatchOptions) -> bool:
    """Find the branch's claim said in own words, when the scorers did not place it: after the client told the
    request, a manager's sentence that says "no" to what an offer commits to («приложение мы вам не сделаем»),
    followed by a question about working together later. Found, it becomes the claim's evidence."""
    asked = _first_evidence(request, transcript)
    if asked is None:
        return False
    client_spoke = not transcript.speakers_known
    for turn in range(int(asked) + 1, len(transcript.segments)):
        segment = transcript.segments[turn]
        if segment.speaker == "client":
            client_spoke = True
            continue
        if not client_spoke:
            continue
        for sentence in split_sentences(segment.text, turn):
            at = turn + sentence.char_start / (len(segment.text) + 1)
            claim = stage.lines[0]
            span = Span(turn=turn, char_start=sentence.char_start, char_end=sentence.char_end, start=segment.start)
            if not refuses_request(sentence.text):
                continue
            trial = claim.model_copy(update={"found": Found.MEANING, "span": span})
            if not _followed_up(stage.model_copy(update={"lines": [trial, *stage.lines[1:]]}), at, transcript):
                continue
            claim.found, claim.matched, claim.span, claim.start, claim.turn = (
                Found.MEANING, sentence.text, span, segment.start, turn)
            claim.paraphrase, claim.similarity = True, max(claim.similarity, opts.meaning_credit)
            stage.present, stage.score = True, stage_credit(stage.lines, opts)
            if stage.turn is None or turn < stage.turn:
                stage.turn, stage.start = turn, segment.start
            return True
    return False


def _competes(rival: StageResult, at: float, claim: Optional[Span], transcript: Transcript) -> bool:
    """Evidence of what the branch replaces (the offer): said before the refusal's turn, or word for word.

    Evidence in the refusal's own turn is part of the refusal («взяться за это мы не сможем»), unless it is the
    script's wording in a sentence of its own («…это как раз наш профиль. Подготовлю вам предложение с ценой и
    сроками.»); what is said in own words after it is the follow-up (who else can help, work together later),
    not an offer.
    """
    for line in rival.lines:
        if not line_said(line) or line.span is None:
            continue
        if line.span.turn == int(at):
            apart = claim is None or claim.turn != line.span.turn or not (
                line.span.char_start < claim.char_end and claim.char_start < line.span.char_end)
            if line.found is Found.VERBATIM and line.wording >= CLEAR_WORDING and apart:
                return True
            continue
        if line.found is Found.VERBATIM or _position(line, transcript) < at:
            return True
    return False


def _sale_goes_on(excused: list[StageResult], at: float, transcript: Transcript) -> bool:
    """The sale went on after the "no": a stage the branch excuses (the payment question, the next step) has
    evidence in a later turn, other than the question about later. What was refused was a side detail («скидку
    дать не сможем»), not the request."""
    for rival in excused:
        for line in rival.lines:
            if not line_said(line) or line.span is None or line.span.turn <= int(at):
                continue
            if not asks_later(transcript.segments[line.span.turn].text[line.span.char_start:line.span.char_end]):
                return True
    return False


def _heard_before(request: StageResult, at: float, transcript: Transcript) -> bool:
    """The request stage has evidence before ``at`` and, when speakers are known, the client spoke between."""
    asked = _first_evidence(request, transcript)
    if asked is None or asked >= at:
        return False
    if not transcript.speakers_known:
        return True
    return any(seg.speaker == "client" for seg in transcript.segments[int(asked) + 1:int(at)])


def _wording_first(evidence: list[list[list[LineEvidence]]]) -> None:
    """A sentence that reads one stage's line clearly is not evidence of another stage by meaning (a cue is
    looser than the meaning scorer's choice, so only the script's wording outweighs it). ``evidence`` is
    scorer → stage → line, changed in place."""
    worded = [(s, line.span) for per_stage in evidence for s, lines in enumerate(per_stage) for line in lines
              if line.found is Found.VERBATIM and line.similarity >= CLEAR_WORDING
              and line.span is not None and line.span.turn_end is None]
    for per_stage in evidence:
        for s, lines in enumerate(per_stage):
            for line in lines:
                while line.found is Found.MEANING and line.span is not None and any(
                        other != s and span.turn == line.span.turn and span.char_start < line.span.char_end
                        and line.span.char_start < span.char_end for other, span in worded):
                    drop(line)


def _order_violations(stages: list[StageResult], positions: dict[str, float]) -> list[OrderViolation]:
    violations = []
    said = [s for s in stages if s.applies and s.id in positions]
    for j, later in enumerate(said):
        for earlier in said[:j]:
            if earlier.required and positions[later.id] < positions[earlier.id]:
                violations.append(OrderViolation(
                    stage=later.id, before=earlier.id,
                    message=f"этап «{later.title or later.id}» прозвучал раньше этапа «{earlier.title or earlier.id}»"))
                break
    return violations





def score_call(transcript: Transcript, script: SalesScript, level: str = "newcomer",
               options: MatchOptions | None = None, bands: BandTable | None = None) -> CallResult:
    """Score one call against a script at a manager's level.

    Args:
        transcript: what was said; only the manager's segments count when speakers are known.
        script: the sales script.
        level: a level of the script's ``levels`` (``newcomer`` / ``experienced``).
        options: matcher thresholds.
        bands: the team's bands (team.yaml ``targets.bands``), over the script's own (``SalesScript.band``).

    Returns:
        The per-stage and per-line evidence, adherence, coverage, verdict and forbidden phrases.

    Raises:
        ScriptError: the level is not defined in the script.
    """
    opts = options or MatchOptions()
    band_model = script.band(level, transcript.kind, bands)
    band = (band_model.min, band_model.max)
    result = CallResult(
        file=transcript.source, script_id=script.id, script_title=script.title, script_hash=script.content_hash(),
        level=level, band=band, connected=True, speakers_known=transcript.speakers_known,
        duration=transcript.duration, talk=transcript.talk, notes=list(transcript.notes),
        messages=list(transcript.messages), channel=transcript.kind, chat=transcript.chat,
        flags=[review_flag(m) for m in transcript.flags], parties=transcript.parties,
    )
    if not transcript.speakers_known:
        result.messages.append(Message(code="speakers_unknown"))
    result.connected, result.not_connected = connection(transcript, opts)
    if result.not_connected is not None:
        result.not_connected_reason = result.not_connected.text("ru")
        review_recognition(result, transcript)
        return result
    speakers = {"manager"} if transcript.speakers_known else {"unknown", "manager", "client"}
    call = CallText(transcript.segments, speakers)
    scorers: list[LineScorer] = [WordScorer()]
    semantic = meaning_scorer() if opts.meaning else None
    if semantic is not None:
        scorers.append(semantic)
    else:
        result.meaning_checked = False
        if opts.meaning:
            result.messages.append(Message(code="meaning_not_checked"))
            if embedder_failure():
                result.notes.append(say("why.meaning_model", why=embedder_failure()))
    evidence = [scorer.score_lines(call, script, opts) for scorer in scorers]
    # Credit needs the act the stage names, where it does its job (a payment question after the request); a
    # sentence whose wording shows one stage is no other stage's by meaning; a greeting needs the introduction.
    acts = [stage.act for stage in script.stages]
    unasked = judge_evidence(acts, call.segments, evidence)
    _wording_first(evidence)
    notes, early = place_evidence(acts, [s.title or s.id for s in script.stages], call.segments, evidence)
    names_caller = [[any("{manager}" in a or "{company}" in a for a in alts) for alts in stage.alternatives()]
                    for stage in script.stages]
    for s, unintroduced in require_introduction(acts, names_caller, call.segments, speakers, evidence,
                                                opts.paraphrase_credit).items():
        notes[s].append(unintroduced)
    # A next step needs its action, an offer its commitment; an offer taken back is no offer.
    for s, dropped in (require_substance(acts, call.segments, speakers, evidence)
                       | withdraw_retracted(acts, call.segments, speakers, evidence)).items():
        notes[s].append(dropped)
    if semantic is not None:  # the learned check that the evidence left does the stage's act
        settled = frozenset(s for s, why in enumerate(notes) if why)
        for s, dropped in verify_evidence(script, acts, call, evidence, semantic.embedder, settled).items():
            notes[s].append(dropped)
    for s, note in unasked.items():  # said for the lead to read, after the checks that a note settles
        notes[s].append(note)
    stages, positions = _stage_results(script, transcript, evidence, opts)
    for s, (stage, why) in enumerate(zip(stages, notes)):
        stage.notes = why
        if s in early and stage.id not in positions:  # not credited there, but said out of order all the same
            positions[stage.id] = float(early[s])
    for script_stage, result_stage in zip(script.stages, stages):
        result_stage.excludes = list(script_stage.excludes)
    _prove_branches(script, stages, transcript, opts)
    settle_branches(stages)
    result.stages = stages
    result.order_points = script.order_points()
    if result.order_points is not None:
        result.order_violations = _order_violations(stages, positions)
    result.order_ok = not result.order_violations
    severity = {p.lower(): sev for p, sev in script.forbidden_severities()}
    result.forbidden = [h.model_copy(update={"severity": severity.get(h.phrase.lower(), "minor")})
                        for h in forbidden_hits(call, script, opts)]
    review_recognition(result, transcript)
    summarise(result)
    flag_uncertain_verdict(result)
    return result


def choose_script(transcript: Transcript, scripts: Iterable[SalesScript]) -> SalesScript:
    """The script whose stages the call matches best (highest adherence at the newcomer level)."""
    candidates = list(scripts)
    if not candidates:
        raise ValueError(say("err.score.no_scripts"))
    if len(candidates) == 1:
        return candidates[0]

    def _fit(script: SalesScript) -> float:
        result = score_call(transcript, script, next(iter(script.levels)))
        return result.adherence or 0.0  # not connected: every script fits equally badly

    return max(candidates, key=_fit)
