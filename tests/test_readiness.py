"""Promotion readiness over a window of stored calls."""
from __future__ import annotations

import pytest

from compliance.errors import ComplianceError
from compliance.history.readiness import assess_readiness
from compliance.scoring.result import CallRecord, CallResult, StageResult

STAGES = ("greeting", "needs", "offer", "farewell")


def _record(i: int, adherence: float | None, *, level: str = "newcomer", missing: tuple[str, ...] = (),
            connected: bool = True, manager: str = "ivanova", date: str = "2026-11-27") -> CallRecord:
    band = (85.0, 90.0) if level == "newcomer" else (55.0, 60.0)
    verdict = None
    if connected and adherence is not None:
        verdict = "below" if adherence < band[0] else ("above" if adherence > band[1] else "within")
    stages = [StageResult(id=s, score=0.0 if s in missing else 90.0, present=s not in missing) for s in STAGES]
    stages.append(StageResult(id="cannot_deliver", required=False, applies=False, score=0.0, present=False))
    result = CallResult(script_id="sales_call", level=level, band=band, connected=connected,
                        adherence=adherence if connected else None, verdict=verdict,
                        stages=stages if connected else [])
    return CallRecord(call_id=f"c{i:03d}", file=f"{i}.txt", manager=manager, manager_name="Иванова Мария",
                      date=date, time=f"10:{i // 60:02d}:{i % 60:02d}", level=level, result=result)


def test_newcomer_ready_when_band_and_stages_hold():
    records = [_record(i, 88.0) for i in range(18)] + [_record(100 + i, 70.0) for i in range(2)]
    r = assess_readiness(records, "newcomer")
    assert r.ready is True
    assert r.calls_considered == 20
    assert r.share_in_band == pytest.approx(0.9)
    assert r.calls_below == ["c100", "c101"]
    assert r.stage_presence == {s: 1.0 for s in STAGES}
    assert r.manager == "ivanova" and r.manager_name == "Иванова Мария"
    assert r.reasons == []


def test_newcomer_not_ready_below_band_lists_reasons():
    records = [_record(i, 88.0) for i in range(15)] + [_record(100 + i, 60.0) for i in range(5)]
    r = assess_readiness(records, "newcomer")
    assert r.ready is False
    assert r.share_in_band == pytest.approx(0.75)
    assert len(r.calls_below) == 5
    assert any("в коридоре или выше коридора 75 %" in reason for reason in r.reasons)


def test_weak_stages_never_list_a_stage_said_in_every_call():
    records = [_record(i, 88.0, missing=("offer",) if i < 3 else ()) for i in range(20)]
    assert assess_readiness(records, "newcomer").weakest_stages == ["offer"]
    assert assess_readiness([_record(i, 88.0) for i in range(20)], "newcomer").weakest_stages == []


@pytest.mark.parametrize("level, ru, en", [
    ("newcomer", "засчитываются звонки в коридоре и выше коридора; звонки ниже коридора не засчитываются",
     "Calls within the band and above the band count toward the move"),
    ("experienced", "в порядке звонки в коридоре и выше коридора", "calls within the band and above the band are"),
])
def test_readiness_says_in_one_sentence_which_verdicts_count(level, ru, en):
    r = assess_readiness([_record(i, 88.0, level=level) for i in range(3)], level)
    assert r.counts is not None and ru in r.counts.text("ru") and en in r.counts.text("en")
    assert r.counts.text("ru").count(".") == 1


def test_newcomer_not_ready_when_a_required_stage_is_skipped():
    # Every call in band, but "offer" is missing in 3 of 20 calls (85 % < 90 %).
    records = [_record(i, 88.0, missing=("offer",) if i < 3 else ()) for i in range(20)]
    r = assess_readiness(records, "newcomer")
    assert r.ready is False
    assert r.stage_presence["offer"] == pytest.approx(0.85)
    assert r.weakest_stages[0] == "offer"
    assert any("offer" in reason and "85 %" in reason for reason in r.reasons)
    # Configurable threshold: at 80 % presence it passes.
    assert assess_readiness(records, "newcomer", min_stage_presence=0.8).ready is True


def test_window_takes_the_last_connected_calls_only():
    old_bad = [_record(i, 40.0, date="2026-11-01") for i in range(30)]
    not_connected = [_record(200 + i, None, connected=False, date="2026-11-28") for i in range(10)]
    recent_good = [_record(300 + i, 87.0, date="2026-11-27") for i in range(20)]
    r = assess_readiness(old_bad + not_connected + recent_good, "newcomer")
    assert r.calls_considered == 20 and r.ready is True
    r5 = assess_readiness(old_bad + recent_good, "newcomer", window=26)
    assert r5.calls_considered == 26 and r5.ready is False and len(r5.calls_below) == 6


def test_too_few_calls_is_undecided_unless_already_failing():
    good = [_record(i, 88.0) for i in range(5)]
    r = assess_readiness(good, "newcomer")
    assert r.ready is None and any("5 из 20" in reason for reason in r.reasons)
    assert assess_readiness(good, "newcomer", min_calls=5).ready is True
    bad = [_record(i, 50.0) for i in range(5)]
    assert assess_readiness(bad, "newcomer").ready is False


def test_experienced_flagged_for_review_below_band():
    fine = [_record(i, 58.0, level="experienced") for i in range(20)]
    r = assess_readiness(fine, "experienced")
    assert r.ready is None and r.flagged_for_review is False
    slipping = [_record(i, 40.0, level="experienced") for i in range(10)] + fine[:10]
    r2 = assess_readiness(slipping, "experienced")
    assert r2.flagged_for_review is True and r2.share_in_band == pytest.approx(0.5)


@pytest.mark.usefixtures("english")
def test_no_calls_and_mixed_managers():
    r = assess_readiness([], "newcomer", manager="petrov")
    assert r.manager == "petrov" and r.ready is None and r.calls_considered == 0 and r.reasons
    with pytest.raises(ComplianceError, match="per manager"):
        assess_readiness([_record(1, 88.0), _record(2, 88.0, manager="petrov")], "newcomer")


def test_cli_batch_reports_and_report_command_agree_on_a_manager_missing_from_the_roster(tmp_path):
    """One readiness rule: a manager missing from the roster, with experienced calls, is experienced with
    those calls everywhere (issue 9: the CLI said "newcomer, 0 calls", the reports "experienced, 3 calls")."""
    import json
    import shutil
    from pathlib import Path

    from click.testing import CliRunner

    from compliance.cli import cli

    calls = Path(__file__).parent / "fixtures" / "calls_holdout"
    day = tmp_path / "day"
    day.mkdir()
    names = ["exp_01_video_windows_factory.txt", "exp_03_accounting_builders.txt", "exp_05_3d_tour_glamping.txt"]
    for name in names:
        shutil.copy(calls / name, day / name)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,manager,date,script,level\n" + "".join(
        f"{n},novak,2026-11-2{i},,experienced\n" for i, n in enumerate(names, 5)), encoding="utf-8")
    db = tmp_path / "h.db"
    run = CliRunner().invoke(cli, ["batch", str(day), "--db", str(db), "--manifest", str(manifest),
                                   "--out", str(tmp_path / "batch-reports")])
    assert run.exit_code == 0, run.output
    cli_view = json.loads(CliRunner().invoke(cli, ["readiness", "novak", "--db", str(db), "--json"]).output)
    assert (cli_view["level"], cli_view["calls_considered"]) == ("experienced", 3)
    report = CliRunner().invoke(cli, ["report", "--db", str(db), "--out", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    for folder in ("batch-reports", "report"):
        page = (tmp_path / folder / "managers" / "novak" / "index.html").read_text(encoding="utf-8")
        assert "Опытный" in page and "По последним 3 соединённым звонкам" in page, folder
