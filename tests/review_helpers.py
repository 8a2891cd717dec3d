"""A history for the review tests: the sample calls of the report tests, the golden script, three accounts."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from compliance.history.schema import CallMeta
from compliance.history.store import Store
from compliance.review.users import add_user
from compliance.scoring.result import CallRecord
from compliance.scoring.script import load_script
from tests.test_reports_sample import sample_records

ROOT = Path(__file__).resolve().parent.parent
GOLDEN_SCRIPT = ROOT / "tests" / "golden" / "sales_call.yaml"
PASSWORDS = {"lead": "lead-password-1", "ivanova": "ivanova-password", "petrov": "petrov-password",
             "hacker": "hacker-password"}


def build_history(db: Path, audio: Optional[str] = None) -> list[CallRecord]:
    """Save the sample calls (three managers, one with a hostile name) and add the lead and manager accounts."""
    script = load_script(GOLDEN_SCRIPT)
    records = sample_records(script, audio=audio)
    with Store(db) as store:
        store.save_script(script)
        for rec in records:
            store.save_call(rec, CallMeta(kind="transcript", score_key="k"))
        add_user(store, "lead", "lead", PASSWORDS["lead"])
        add_user(store, "ivanova", "manager", PASSWORDS["ivanova"], manager="ivanova")
        add_user(store, "petrov", "manager", PASSWORDS["petrov"], manager="petrov")
        add_user(store, "hacker", "manager", PASSWORDS["hacker"], manager="x-hostile")
    return records


def first_connected(records: list[CallRecord], manager: str) -> CallRecord:
    return next(r for r in records if r.manager == manager and r.result.connected)
