"""A history for the review tests: the sample calls of the report tests, the golden script, three accounts."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from compliance.history.schema import CallMeta
from compliance.history.store import Store
from compliance.review.users import add_user
from compliance.scoring.result import CallRecord
from compliance.scoring.script_file import load_script
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


FIXED_NOW = "2026-11-28T09:30:00"      # when the sample decisions were made: golden pages do not move with the clock
SAMPLE_PHONE = "+380 67 123 45 67"


def _sample_chat(script) -> CallRecord:
    """A scored chat of ivanova (a call record marked as a chat, so its page is stable however the matcher moves)."""
    from compliance.scoring.transcript import ChatMetrics
    from tests.test_reports_sample import make_call

    chat = make_call(script, call_id="chat001", manager="ivanova", manager_name="Иванова Мария", level="newcomer",
                     date="2026-11-27", time="12:05:00", seed=11, quality=0.85, skip=["payment_timing"])
    from compliance.scoring.verdict import summarise

    chat.result.channel = "chat"
    chat.result.band = (80.0, 90.0)        # the chat script's newcomer band
    chat.result.talk = None                 # a chat has messages, not talk time
    if chat.transcript is not None:
        chat.transcript.talk = None
        chat.transcript.kind = "chat"
    summarise(chat.result)
    chat.result.chat = ChatMetrics(started="2026-11-27T12:05:00", first_response=95.0, longest_wait=600.0,
                                   manager_messages=6, client_messages=5)
    return chat


def build_lead_history(base: Path) -> Path:
    """A history as a lead's machine holds it, for the page tests and the screenshots: the sample calls under the
    lead's own folders (absolute paths, a real recording), a chat, a phone number, an override, an open dispute
    and a settled one, all made at ``FIXED_NOW``."""
    import unittest.mock

    from compliance.review.ledger import open_dispute, resolve_dispute, set_override
    from tests.test_reports_browser import _write_wav

    db = base / "history.db"
    script = load_script(GOLDEN_SCRIPT)
    wav = base / "Записи" / "call.wav"
    _write_wav(wav, seconds=2.0)
    records = [*sample_records(script), _sample_chat(script)]
    with Store(db) as store, unittest.mock.patch("compliance.review.ledger._now", return_value=FIXED_NOW):
        store.save_script(script)
        for rec in records:
            rec.file = rec.result.file = str(base / "Записи" / (rec.date or "") / rec.manager / rec.file)
            if rec.result.chat is not None:
                rec.file = rec.result.file = str(base / "Записи" / "telegram" / "result.json") + " #Анна Смирнова"
            rec.audio = str(wav) if rec.result.chat is None else None
            kind = "chat" if rec.result.chat is not None else "audio"
            store.save_call(rec, CallMeta(kind=kind, score_key="k", phone=SAMPLE_PHONE if rec.call_id == "call000"
                                          else None))
        add_user(store, "lead", "lead", PASSWORDS["lead"])
        add_user(store, "ivanova", "manager", PASSWORDS["ivanova"], manager="ivanova")
        add_user(store, "petrov", "manager", PASSWORDS["petrov"], manager="petrov")
        set_override(store, "call001", "payment_timing", True, by="lead", note="спросила в конце, машина не расслышала")
        open_dispute(store, "call000", "greeting", by="ivanova", comment="Я поздоровалась в начале звонка")
        settled = open_dispute(store, "call002", "needs", by="ivanova", comment="Я выяснила запрос", line=0)
        resolve_dispute(store, settled.id, by="lead", accept=False, note="Запрос клиента так и не прозвучал")
    return db
