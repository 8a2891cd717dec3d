"""From stage credits to adherence, structure and the verdict: the one home of the rules a promotion rests on.

The scorer (``score.score_call``) and the lead's decisions (``history.decisions.apply_decisions``) both end here,
so a call re-scored and a call corrected by the lead are judged by the same rules:

- which stages count (``settle_branches``): required stages, optional ones said, less those a taken branch
  excuses;
- adherence: the counted stages' weighted credit (``script_adherence``), less ``MINOR_PHRASE_POINTS`` per minor
  forbidden phrase said (at most ``MINOR_PHRASE_CAP``) and the script's ``order:`` points per stage said out of
  order (at most ``ORDER_CAP``);
- the verdict: adherence against the level's band (``band_verdict``), and below the band whatever the adherence
  when the manager said a critical forbidden phrase or skipped a required stage (every stage must be there, at
  either level: a newcomer reads them, an experienced manager says them in own words);
- the notes that say all this in words (``verdict_notes``, as codes; ``verdict_reasons``, in Russian).
"""
from __future__ import annotations

from compliance.messages import Message
from compliance.scoring.result import CallResult, Found, StageResult, Verdict, band_verdict, branch_taken

# What a minor forbidden phrase costs: points off adherence each time it is said, and at most this much in all.
MINOR_PHRASE_POINTS = 3.0
MINOR_PHRASE_CAP = 15.0
# Stages said out of order cost at most this much in all (the points per stage are the script's ``order:``).
ORDER_CAP = 30.0


def summarise(result: CallResult) -> None:
    """Adherence, coverage, structure, verdict and its notes from the stages (the scorer's, or as the lead
    corrected them), the forbidden phrases and the order of stages."""
    settle_branches(result.stages)
    applying = [s for s in result.stages if s.applies]
    total_weight = sum(s.weight for s in applying)
    raw = round(sum(s.score * s.weight for s in applying) / total_weight, 1) if total_weight else 0.0
    required = [s for s in applying if s.required]
    result.coverage = round(100 * sum(s.present for s in required) / len(required), 1) if required else 100.0
    required_weight = sum(s.weight for s in required)
    result.structure = (round(100 * sum(s.weight for s in required if s.present) / required_weight, 1)
                        if required_weight else 100.0)
    minor = sum(1 for h in result.charged_forbidden if h.severity == "minor")
    result.forbidden_penalty = min(MINOR_PHRASE_CAP, MINOR_PHRASE_POINTS * minor)
    result.order_penalty = min(ORDER_CAP, (result.order_points or 0.0) * len(_late_stages(result)))
    result.script_adherence = raw
    result.adherence = round(max(0.0, raw - result.forbidden_penalty - result.order_penalty), 1)
    result.verdict = band_verdict(result.adherence, result.band)
    without_order = band_verdict(round(max(0.0, raw - result.forbidden_penalty), 1), result.band)
    changed = result.order_penalty > 0 and without_order != result.verdict and not result.critical
    result.verdict_without_order = without_order if changed else None
    if result.critical or _missing(result):
        result.verdict = Verdict.BELOW
    result.verdict_notes = verdict_notes(result)
    result.verdict_reasons = [m.text("ru") for m in result.verdict_notes]


def _missing(result: CallResult) -> list[StageResult]:
    """Required stages that count and were not said (a stage a taken branch excuses does not count)."""
    return [s for s in result.stages if s.applies and s.required and not s.present]


def _late_stages(result: CallResult) -> set[str]:
    """Stages said out of order, of those that count (a stage the lead struck out is not late)."""
    counted = {s.id for s in result.stages if s.present and s.applies}
    return {v.stage for v in result.order_violations if v.stage in counted and v.before in counted}


def settle_branches(stages: list[StageResult]) -> None:
    """Which stages count: required ones, optional ones said; a taken branch excuses the stages it lists.

    A branch is taken when the machine proved it (``branch``) or the lead said so (an override of the branch
    stage: present is "taken", absent is "not taken"); a branch said but not taken does not count either (it is
    not what happened in the call). A stage the lead marked present counts even where a branch excuses it.
    """
    by_id = {s.id: s for s in stages}
    for stage in stages:
        if not stage.required and not stage.present:
            stage.applies = False
    if not any(s.excludes for s in stages):
        return  # no branch (or a result stored before branches were recorded: its stages stay as they were)
    for stage in stages:
        stage.applies = stage.required or stage.present
    for stage in stages:
        if not stage.excludes:
            continue
        if not branch_taken(stage):
            if not stage.required:
                stage.applies = False
            continue
        for other in (by_id[x] for x in stage.excludes if x in by_id):
            if not (other.override is not None and other.override.present):
                other.applies = False


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _titles(stages: list[StageResult], ids: list[str]) -> str:
    by_id = {s.id: s for s in stages}
    return ", ".join(f"«{by_id[x].title or x}»" if x in by_id else f"«{x}»" for x in ids)


def _branch_notes(result: CallResult) -> list[Message]:
    notes = []
    for stage in result.stages:
        # A branch whose claim was never said is no news (an ordinary «обращайтесь в будущем» is not a refusal).
        claimed = bool(stage.lines) and stage.lines[0].found is not Found.ABSENT
        if not stage.excludes or not (claimed or stage.branch or stage.override is not None):
            continue
        params: dict[str, str | int | float] = {"title": stage.title or stage.id,
                                                "stages": _titles(result.stages, stage.excludes)}
        if stage.override is not None:
            params["by"] = stage.override.by
            code = "branch_taken_by_lead" if stage.override.present else "branch_not_taken_by_lead"
        elif stage.branch:
            code = "branch_taken"
        else:
            code = f"branch_not_taken_{stage.branch_why or 'weak'}"
            if stage.branch_why == "competing":
                rival = next((s for s in result.stages if s.id in stage.excludes and s.present), None)
                params["rival"] = (rival.title or rival.id) if rival else ""
        notes.append(Message(code=code, params=params))
    return notes


def verdict_notes(result: CallResult) -> list[Message]:
    """What decided the verdict besides the stages' credit, in words: branches, critical phrases, points off."""
    notes = _branch_notes(result)
    missing = _missing(result)
    if missing:
        notes.append(Message(code="required_missing", params={
            "stages": _titles(result.stages, [s.id for s in missing])}))
    for hit in result.critical:
        notes.append(Message(code="critical_phrase", params={
            "phrase": hit.phrase, "at": _clock(hit.start) if hit.start is not None else "—"}))
    minor = sum(1 for h in result.charged_forbidden if h.severity == "minor")
    if result.forbidden_penalty:
        notes.append(Message(code="minor_penalty", params={
            "points": result.forbidden_penalty, "count": minor, "each": MINOR_PHRASE_POINTS, "cap": MINOR_PHRASE_CAP}))
    if result.order_penalty:
        notes.append(Message(code="order_penalty", params={
            "points": result.order_penalty, "count": len(_late_stages(result)), "each": result.order_points or 0.0}))
    if result.verdict_without_order is not None:
        notes.append(Message(code=f"order_changed_{result.verdict_without_order.value}"))
    return notes
