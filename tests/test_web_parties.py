"""The review app on a one-channel call split by voice: the lead swaps the parties (the score recomputes) and
confirms a flagged call (it counts toward readiness again)."""
from __future__ import annotations

from compliance.history.readiness import assess_readiness
from compliance.history.schema import CallMeta
from compliance.history.store import Store
from compliance.review.ledger import audit_trail
from compliance.review.users import add_user
from compliance.scoring.result import CallRecord
from compliance.scoring.score import score_call
from compliance.scoring.transcript import Transcript
from compliance.speech.parties import assemble_mono
from tests.test_diarize import _recognised
from tests.test_web import _client, _csrf, _login

PASSWORD = "lead-password-1"


def _history(db, default_script) -> str:
    transcript = Transcript(source="mono.wav")
    assemble_mono(_recognised(separation=0.2, confident=False), transcript, default_script)
    result = score_call(transcript, default_script, "newcomer")
    record = CallRecord(call_id="mono1", file="mono.wav", manager="ivanova", date="2026-12-06", result=result,
                        transcript=transcript)
    with Store(db) as store:
        store.save_script(default_script)
        store.save_call(record, CallMeta(kind="audio", score_key="k"))
        add_user(store, "lead", "lead", PASSWORD)
    return record.call_id


def test_the_lead_swaps_the_parties_and_confirms_the_call(tmp_path, default_script):
    db = tmp_path / "history.db"
    call_id = _history(db, default_script)
    client = _client(db)
    _login(client, "lead", PASSWORD)
    page = client.get(f"/calls/{call_id}").text
    assert 'id="parties-review"' in page and "/swap" in page and "/confirm" in page and 'id="review-flags"' in page
    with Store(db) as store:
        before = store.call(call_id)
        assert before is not None and before.result.flags
        assert assess_readiness([before], "newcomer", min_calls=1).calls_considered == 0
    token = _csrf(client, f"/calls/{call_id}")
    assert client.post(f"/calls/{call_id}/swap", data={"csrf_token": token}).status_code == 303
    with Store(db) as store:
        swapped = store.call(call_id)
    assert swapped.transcript.segments[0].speaker == "client" and swapped.transcript.parties.swapped
    assert swapped.result.adherence < before.result.adherence
    assert client.post(f"/calls/{call_id}/confirm", data={"csrf_token": token}).status_code == 303
    with Store(db) as store:
        confirmed = store.call(call_id)
        actions = [a.action for a in audit_trail(store, call_id)]
    assert confirmed.result.flags == [] and confirmed.machine is not None and confirmed.machine.flags
    assert assess_readiness([confirmed], "newcomer", min_calls=1).calls_considered == 1
    assert actions == ["swap", "confirm_flags"]
    assert client.post(f"/calls/{call_id}/swap", data={"csrf_token": token}).status_code == 303  # and back
    with Store(db) as store:
        assert store.call(call_id).transcript.segments[0].speaker == "manager"
