"""Accuracy of the scoring engine on a hand-labelled set of calls (issue 2, point 9).

The transcripts in ``tests/fixtures/calls/`` and ``labels.yaml`` are the ground truth, labelled by reading each
call as a sales lead would. ``pytest tests/test_accuracy.py -s`` prints the confusion tables;
``python benchmarks/accuracy_report.py`` prints the same report without pytest. The harness is
``benchmarks/accuracy.py``.
"""
from __future__ import annotations

import re

import pytest
from accuracy import (
    ABSENT_RECALL_MIN,
    CALLS_DIR,
    F1_MIN,
    KINDS,
    MIN_CALLS_PER_KIND,
    NO_STAGE_ADHERENCE_MAX,
    ORDER_FALSE_ALARM_MAX,
    STAGE_LABELS,
    VERBATIM_ADHERENCE_MIN,
    AccuracyReport,
    LabelledCall,
    beats,
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

# --------------------------------------------------------------------------- tests

_CALLS = load_labelled_calls()
_IDS = [c.name for c in _CALLS]


@pytest.fixture(scope="module")
def script() -> SalesScript:
    return load_script(default_script_path())


@pytest.fixture(scope="module")
def report(script: SalesScript) -> AccuracyReport:
    score = load_scorer()  # an ImportError here means compliance.scoring.score is not there yet
    return build_report(_CALLS, script, score_all(_CALLS, script, score))


def _by_kind(*kinds: str) -> list[LabelledCall]:
    return [c for c in _CALLS if c.kind in kinds]


def _result_of(report: AccuracyReport, name: str) -> CallResult:
    outcome = report.outcomes[name]
    if isinstance(outcome, Exception):
        pytest.fail(f"{name}: score_call raised {outcome!r}")
    return outcome


def test_labelled_set_is_complete(script: SalesScript) -> None:
    """The fixtures themselves: every file labelled, every stage labelled, enough calls of every kind."""
    stage_ids = {s.id for s in script.stages}
    files = {p.name for p in CALLS_DIR.iterdir() if p.suffix in (".txt", ".json")}
    assert files == set(_IDS), f"unlabelled: {sorted(files - set(_IDS))}; missing files: {sorted(set(_IDS) - files)}"
    forbidden = {normalise(p) for p in script.forbidden_phrases()}
    for call in _CALLS:
        assert call.kind in KINDS, f"{call.name}: unknown kind {call.kind!r}"
        assert set(call.stages) == stage_ids, f"{call.name}: stages labelled {sorted(call.stages)}"
        assert set(call.stages.values()) <= set(STAGE_LABELS), f"{call.name}: {call.stages}"
        assert call.level in script.levels, f"{call.name}: level {call.level!r}"
        for phrase in call.forbidden_by_manager + call.client_forbidden:
            assert normalise(phrase) in forbidden, f"{call.name}: {phrase!r} is not in the script's forbidden list"
        assert call.connected == (call.kind != "not_connected"), call.name
        if call.kind == "verbatim":
            assert call.level == "newcomer", call.name
        if call.kind == "no_stage":
            assert set(call.stages.values()) == {"absent"}, call.name
    kinds = {kind: len(_by_kind(kind)) for kind in KINDS}
    assert min(kinds.values()) >= MIN_CALLS_PER_KIND, kinds
    assert sum(c.speakers == "unknown" for c in _CALLS) >= 2


@pytest.mark.parametrize("call", _CALLS, ids=_IDS)
def test_forbidden_labels_match_a_literal_search(call: LabelledCall, script: SalesScript) -> None:
    """A phrase said literally by the manager is labelled as the manager's; one said only by the client, as the client's."""
    def said(text: str) -> set[str]:
        text = normalise(text)
        return {p for p in script.forbidden_phrases() if re.search(rf"(?<!\w){re.escape(normalise(p))}(?!\w)", text)}

    manager = said(manager_text(call.transcript))
    client = said(call.transcript.text_of("client")) - manager
    assert manager <= set(call.forbidden_by_manager), f"manager says {sorted(manager)}"
    assert client == set(call.client_forbidden), f"only the client says {sorted(client)}"


def test_every_call_is_scored(report: AccuracyReport) -> None:
    assert not report.crashed, "\n".join(f"{n}: {report.outcomes[n]!r}" for n in report.crashed)


def test_stage_presence_f1_and_absent_recall(report: AccuracyReport) -> None:
    print("\n" + format_report(report))
    ours = report.ours
    assert ours.f1 >= F1_MIN, f"stage-presence F1 {ours.f1:.3f} < {F1_MIN}"
    assert ours.absent_recall >= ABSENT_RECALL_MIN, f"absent recall {ours.absent_recall:.3f} < {ABSENT_RECALL_MIN}"


def test_matcher_beats_the_partial_ratio_baseline(report: AccuracyReport) -> None:
    ours, base = report.ours, report.baseline_best
    print(f"\nmatcher F1 {ours.f1:.3f} / absent-recall {ours.absent_recall:.3f}; baseline (partial_ratio >= "
          f"{base.threshold}) F1 {base.confusion.f1:.3f} / absent-recall {base.confusion.absent_recall:.3f}")
    assert beats(ours.f1, base.confusion.f1), "F1 not above the baseline's best"
    assert beats(ours.absent_recall, base.confusion.absent_recall), "absent recall not above the baseline's"


@pytest.mark.parametrize("call", _by_kind("verbatim"), ids=lambda c: c.name)
def test_near_verbatim_call_is_within_the_newcomer_band(call: LabelledCall, report: AccuracyReport) -> None:
    result = _result_of(report, call.name)
    assert result.level == "newcomer"
    assert result.adherence is not None and result.adherence >= VERBATIM_ADHERENCE_MIN, result.adherence
    assert result.verdict in ("within", "above"), result.verdict


@pytest.mark.parametrize("call", _by_kind("no_stage"), ids=lambda c: c.name)
def test_call_without_any_stage_scores_low(call: LabelledCall, report: AccuracyReport) -> None:
    result = _result_of(report, call.name)
    assert result.connected, f"a real conversation reported not connected: {result.not_connected_reason}"
    assert result.adherence is not None and result.adherence <= NO_STAGE_ADHERENCE_MAX, result.adherence


@pytest.mark.parametrize("call", [c for c in _CALLS if c.forbidden_by_manager or c.client_forbidden],
                         ids=lambda c: c.name)
def test_forbidden_phrases_charged_to_the_manager_only(call: LabelledCall, report: AccuracyReport) -> None:
    reported = {normalise(hit.phrase) for hit in _result_of(report, call.name).forbidden}
    for phrase in call.client_forbidden:
        assert normalise(phrase) not in reported, f"client's {phrase!r} charged to the manager"
    for phrase in call.forbidden_by_manager:
        assert normalise(phrase) in reported, f"manager's {phrase!r} not found (reported: {sorted(reported)})"


@pytest.mark.parametrize("call", _CALLS, ids=_IDS)
def test_no_forbidden_phrase_reported_that_was_not_said(call: LabelledCall, report: AccuracyReport) -> None:
    reported = {normalise(hit.phrase) for hit in _result_of(report, call.name).forbidden}
    assert reported <= {normalise(p) for p in call.forbidden_by_manager}, sorted(reported)


@pytest.mark.parametrize("call", _by_kind("not_connected"), ids=lambda c: c.name)
def test_not_connected_call_is_recognised(call: LabelledCall, report: AccuracyReport) -> None:
    result = _result_of(report, call.name)
    assert result.connected is False
    assert result.not_connected_reason, "no reason given"


def test_connected_calls_are_reported_connected(report: AccuracyReport) -> None:
    cut = [c.name for c in _CALLS if c.connected and not _result_of(report, c.name).connected]
    assert not cut, f"real conversations reported not connected: {cut}"


def test_order_violations_are_caught_without_false_alarms(report: AccuracyReport) -> None:
    missed, alarms, clean = report.order_stats()
    assert not missed, f"order violations not reported: {missed}"
    assert len(alarms) <= ORDER_FALSE_ALARM_MAX * clean, f"order reported broken in calls said in order: {alarms}"
