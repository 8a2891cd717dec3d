"""Accuracy of the scoring engine on a held-out set of calls (issue 2, points 9 and 10).

``tests/fixtures/calls_holdout/`` was written and labelled independently of the matcher and of the tuning set in
``tests/fixtures/calls/``: other domains, clients and wording, experienced managers who say every stage in their
own words. It was measured while the word matcher was tuned (F1 0.846 → 0.911), so it is development data now,
like ``tests/fixtures/calls``; the blind set in ``tests/fixtures/calls_blind`` is the one that is measured, not
tuned on. Do not relabel it to make a run pass.

``pytest tests/test_accuracy_holdout.py -s`` prints the confusion tables, the presence mistakes and the adherence
of the experienced calls. The metric helpers are those of ``tests/test_accuracy.py``.
"""
from __future__ import annotations

import re
from pathlib import Path
from statistics import mean

import pytest
from accuracy import (
    ABSENT_RECALL_MIN,
    F1_MIN,
    KINDS,
    STAGE_LABELS,
    VERBATIM_ADHERENCE_MIN,
    AccuracyReport,
    LabelledCall,
    build_report,
    format_report,
    load_labelled_calls,
    load_scorer,
    manager_text,
    normalise,
    score_all,
)

from compliance.resources import default_script_path
from compliance.scoring.result import CallResult
from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import load_script

HOLDOUT_DIR = Path(__file__).parent / "fixtures" / "calls_holdout"

# The product goal: an experienced manager who says every stage in their own words lands around 55–60 %
# (the experienced band of the default script); the bounds asserted are in test_holdout_experienced_calls_adherence.
EXPERIENCED_GOAL = (55.0, 60.0)

# A literal hit that is an ordinary word, not the forbidden filler: not labelled, so the matcher must not report it.
HOMONYMS = {
    ("exp_05_3d_tour_glamping.txt", "типа"): "«по одному каждого типа» is the genitive of «тип», not the filler",
}

_CALLS = load_labelled_calls(HOLDOUT_DIR)
_IDS = [c.name for c in _CALLS]


def _by_kind(*kinds: str) -> list[LabelledCall]:
    return [c for c in _CALLS if c.kind in kinds]


def _experienced_full() -> list[LabelledCall]:
    """Experienced-level calls in which every stage the script requires on the sale branch was said."""
    required = ("greeting", "needs", "offer", "payment_timing", "next_step", "farewell")
    return [c for c in _CALLS
            if c.level == "experienced" and c.connected and all(c.present(sid) for sid in required)]


@pytest.fixture(scope="module")
def holdout_script() -> SalesScript:
    return load_script(default_script_path())


@pytest.fixture(scope="module")
def holdout_report(holdout_script: SalesScript) -> AccuracyReport:
    score = load_scorer()
    return build_report(_CALLS, holdout_script, score_all(_CALLS, holdout_script, score))


def _result_of(report: AccuracyReport, name: str) -> CallResult:
    outcome = report.outcomes[name]
    if isinstance(outcome, Exception):
        pytest.fail(f"{name}: score_call raised {outcome!r}")
    return outcome


def format_experienced(report: AccuracyReport) -> str:
    """Adherence of every experienced call with all stages said, and their mean."""
    lo, hi = EXPERIENCED_GOAL
    rows = [f"Experienced calls with every stage said (level experienced; goal about {lo:.0f}–{hi:.0f} %, "
            f"asserted: each 45–75, mean 50–70):"]
    values = []
    for call in _experienced_full():
        result = report.result(call.name)
        if result is None or result.adherence is None:
            rows.append(f"  {call.name:<48} adherence —")
            continue
        values.append(result.adherence)
        rows.append(f"  {call.kind:<11} {call.name:<48} adherence {result.adherence:>5.1f}  "
                    f"coverage {result.coverage if result.coverage is not None else float('nan'):>5.1f}  "
                    f"verdict {result.verdict}")
    rows.append(f"  mean adherence: {mean(values):.1f} over {len(values)} calls" if values else "  mean adherence: —")
    for kind in sorted({c.kind for c in _experienced_full()}):
        of_kind = [r.adherence for c in _experienced_full() if c.kind == kind
                   and (r := report.result(c.name)) is not None and r.adherence is not None]
        if of_kind:
            rows.append(f"    {kind}: mean {mean(of_kind):.1f} over {len(of_kind)} calls")
    return "\n".join(rows)


# --------------------------------------------------------------------------- tests

def test_holdout_set_is_complete(holdout_script: SalesScript) -> None:
    """Every file labelled, every stage labelled with a known value, the mix of calls the set promises."""
    stage_ids = {s.id for s in holdout_script.stages}
    files = {p.name for p in HOLDOUT_DIR.iterdir() if p.suffix in (".txt", ".json")}
    assert files == set(_IDS), f"unlabelled: {sorted(files - set(_IDS))}; missing files: {sorted(set(_IDS) - files)}"
    forbidden = {normalise(p) for p in holdout_script.forbidden_phrases()}
    for call in _CALLS:
        assert call.kind in KINDS, f"{call.name}: unknown kind {call.kind!r}"
        assert set(call.stages) == stage_ids, f"{call.name}: stages labelled {sorted(call.stages)}"
        assert set(call.stages.values()) <= set(STAGE_LABELS), f"{call.name}: {call.stages}"
        assert call.level in holdout_script.levels, f"{call.name}: level {call.level!r}"
        for phrase in call.forbidden_by_manager + call.client_forbidden:
            assert normalise(phrase) in forbidden, f"{call.name}: {phrase!r} is not in the script's forbidden list"
        if call.kind == "verbatim":
            assert call.level == "newcomer", call.name
        turns = len(call.transcript.segments)
        assert 16 <= turns <= 30, f"{call.name}: {turns} turns"
    assert len(_experienced_full()) >= 12
    assert len(_by_kind("missing")) >= 4 and len(_by_kind("cannot_deliver")) >= 3
    assert len(_by_kind("verbatim")) >= 3 and len(_by_kind("asr")) >= 2


@pytest.mark.parametrize("call", _CALLS, ids=_IDS)
def test_holdout_forbidden_labels_match_a_literal_search(call: LabelledCall, holdout_script: SalesScript) -> None:
    """The labels themselves: a phrase the manager says literally is labelled the manager's, one only the client says, the client's."""
    def said(text: str) -> set[str]:
        text = normalise(text)
        return {p for p in holdout_script.forbidden_phrases() if re.search(rf"(?<!\w){re.escape(normalise(p))}(?!\w)", text)}

    manager = {p for p in said(manager_text(call.transcript)) if (call.name, p) not in HOMONYMS}
    client = said(call.transcript.text_of("client")) - manager
    assert manager <= set(call.forbidden_by_manager), f"manager says {sorted(manager)}"
    assert client == set(call.client_forbidden), f"only the client says {sorted(client)}"


def test_holdout_every_call_is_scored_and_connected(holdout_report: AccuracyReport) -> None:
    assert not holdout_report.crashed, "\n".join(f"{n}: {holdout_report.outcomes[n]!r}" for n in holdout_report.crashed)
    cut = [c.name for c in _CALLS if c.connected and not _result_of(holdout_report, c.name).connected]
    assert not cut, f"real conversations reported not connected: {cut}"


# Issue 8, point 4: a call with every stage in own words lands around the experienced band.
EXPERIENCED_EACH = (45.0, 75.0)
EXPERIENCED_MEAN = (50.0, 70.0)


def test_holdout_absent_recall(holdout_report: AccuracyReport) -> None:
    print("\n" + format_report(holdout_report))
    ours = holdout_report.ours
    assert ours.absent_recall >= ABSENT_RECALL_MIN, \
        f"held-out absent recall {ours.absent_recall:.3f} < {ABSENT_RECALL_MIN}"


def test_holdout_stage_presence_f1(holdout_report: AccuracyReport) -> None:
    ours = holdout_report.ours
    assert ours.f1 >= F1_MIN, f"held-out stage-presence F1 {ours.f1:.3f} < {F1_MIN}"


@pytest.mark.parametrize("call", _by_kind("verbatim"), ids=lambda c: c.name)
def test_holdout_near_verbatim_call_scores_high(call: LabelledCall, holdout_report: AccuracyReport) -> None:
    result = _result_of(holdout_report, call.name)
    assert result.level == "newcomer"
    assert result.adherence is not None and result.adherence >= VERBATIM_ADHERENCE_MIN, result.adherence


@pytest.mark.parametrize("call", [c for c in _CALLS if c.forbidden_by_manager or c.client_forbidden],
                         ids=lambda c: c.name)
def test_holdout_forbidden_phrases_charged_to_the_manager_only(call: LabelledCall,
                                                               holdout_report: AccuracyReport) -> None:
    reported = {normalise(hit.phrase) for hit in _result_of(holdout_report, call.name).forbidden}
    for phrase in call.client_forbidden:
        assert normalise(phrase) not in reported, f"client's {phrase!r} charged to the manager"
    for phrase in call.forbidden_by_manager:
        assert normalise(phrase) in reported, f"manager's {phrase!r} not found (reported: {sorted(reported)})"


@pytest.mark.parametrize("call", _CALLS, ids=_IDS)
def test_holdout_no_forbidden_phrase_reported_that_was_not_said(call: LabelledCall,
                                                                holdout_report: AccuracyReport) -> None:
    reported = {normalise(hit.phrase) for hit in _result_of(holdout_report, call.name).forbidden}
    assert reported <= {normalise(p) for p in call.forbidden_by_manager}, sorted(reported)


def test_holdout_experienced_calls_adherence(holdout_report: AccuracyReport) -> None:
    """Experienced calls with every stage said: each within 45–75, the mean within 50–70 (issue 8, point 4)."""
    print("\n" + format_experienced(holdout_report))
    values = []
    for call in _experienced_full():
        result = _result_of(holdout_report, call.name)
        assert result.level == "experienced", call.name
        assert result.adherence is not None, f"{call.name}: no adherence"
        assert EXPERIENCED_EACH[0] <= result.adherence <= EXPERIENCED_EACH[1], (call.name, result.adherence)
        values.append(result.adherence)
    assert EXPERIENCED_MEAN[0] <= mean(values) <= EXPERIENCED_MEAN[1], \
        f"mean adherence of experienced full calls {mean(values):.1f} outside {EXPERIENCED_MEAN}"
