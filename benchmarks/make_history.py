"""A synthetic history: a team of 10 managers over a year, N scored calls written through the Store API.

Run: python benchmarks/make_history.py --calls 10000 --db /tmp/history-10k.db

The rows are the ones the product writes (``Store.save_call``: calls with results and transcripts, stages,
lines, forbidden phrases), with what a real year holds beside them: unanswered calls, chats (a share), calls
flagged for the lead (poor recognition), recognition ratings, the lead's decisions and the managers' disputes on a
few calls, reported sales. Results come from a pool of plausible calls per manager (``tests.test_reports_sample``:
scripted stages said well or badly by the manager's skill, forbidden phrases, branches), each stored as its own
call with its own id, file, day and time. Deterministic for a given ``--seed``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from compliance.history.schema import CallMeta, DaySales, ManagerRow  # noqa: E402
from compliance.history.store import Store  # noqa: E402
from compliance.review.ledger import confirm_flags, open_dispute, set_override  # noqa: E402
from compliance.scoring.quality import RecognitionQuality  # noqa: E402
from compliance.scoring.result import CallRecord, ReviewFlag  # noqa: E402
from tests.test_reports_sample import default_script, make_call  # noqa: E402

MANAGERS = [("m01", "Иванова Мария", "newcomer", 0.9), ("m02", "Петров Олег", "newcomer", 0.6),
            ("m03", "Соколова Ирина", "newcomer", 0.75), ("m04", "Кузнецов Сергей", "newcomer", 0.45),
            ("m05", "Попова Анна", "experienced", 0.8), ("m06", "Лебедев Максим", "experienced", 0.7),
            ("m07", "Новикова Юлия", "experienced", 0.55), ("m08", "Морозов Денис", "experienced", 0.85),
            ("m09", "Волкова Ольга", "experienced", 0.65), ("m10", "Фёдоров Артём", "experienced", 0.5)]
POOL = 12            # plausible calls per manager (real scoring); each stored call takes one, under its own id
CHAT_SHARE = 0.12    # contacts by messenger
FLAG_SHARE = 0.03    # connected calls flagged for the lead (poor recognition)
DECISION_SHARE = 0.004
DISPUTE_SHARE = 0.002


def working_days(end: dt.date, count: int) -> list[dt.date]:
    """The last ``count`` weekdays up to ``end``, oldest first."""
    days: list[dt.date] = []
    day = end
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= dt.timedelta(days=1)
    return days[::-1]


def _pool(rng: random.Random, script, key: str, name: str, level: str, skill: float) -> list[CallRecord]:
    out = []
    for j in range(POOL):
        opts: dict = {}
        roll = rng.random()
        if roll < 0.12:
            opts.update(connected=False, reason="нет ответа")
        elif roll < 0.3:
            opts["skip"] = [rng.choice(["needs", "payment_timing", "next_step", "farewell"])]
        if rng.random() < 0.12:
            opts["forbidden"] = [rng.choice(script.forbidden_phrases())]
        if rng.random() < 0.08:
            opts["branch_no"] = True
        quality = skill
        if level == "experienced":
            opts["loose"] = 0.5 + 0.15 * (1 - skill)
            quality = 0.0
        out.append(make_call(script, call_id=f"{key}-pool{j}", manager=key, manager_name=name, level=level,
                             date="2026-01-01", time="10:00:00", seed=rng.randrange(1_000_003),
                             quality=min(1.0, max(0.0, rng.gauss(quality, 0.1))), **opts))
    return out


def _record(rng: random.Random, template: CallRecord, i: int, day: dt.date) -> tuple[CallRecord, CallMeta]:
    """One stored call made from a template: its own id, file, time; a chat, a flag, a rating now and then."""
    chat = rng.random() < CHAT_SHARE
    call_id = f"{i:08x}{rng.getrandbits(96):024x}"
    clock = f"{9 + rng.randrange(9):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
    file = (f"chat:tg-{call_id[:12]}" if chat
            else f"/calls/{day:%Y/%m/%d}/{template.manager}/{clock.replace(':', '')}-{i}.wav")
    update: dict = {"file": file, "manager": template.manager}
    if chat:
        update["channel"] = "chat"
    else:
        rating = rng.choices(["good", "fair", "poor"], [0.85, 0.12, 0.03])[0]
        update["quality"] = RecognitionQuality(rating=rating)
        if template.result.connected and (rating == "poor" or rng.random() < FLAG_SHARE / 2):
            update["flags"] = [ReviewFlag(code="poor_recognition" if rating == "poor" else "speakers_not_separated")]
    result = template.result.model_copy(update=update)
    record = template.model_copy(update={"call_id": call_id, "file": file, "date": day.isoformat(), "time": clock,
                                         "result": result, "audio": None if chat else file,
                                         "analysed_at": f"{day.isoformat()}T19:00:00"})
    meta = CallMeta(kind="chat" if chat else "audio", score_key=f"sales_call|{template.level}",
                    transcribe_key="text" if chat else "base|int8", source_root="" if chat else "/calls",
                    source_key=file if chat else file[len("/calls/"):], content_hash=call_id)
    return record, meta


def make_history(db: Path, calls: int, seed: int = 26, end: str = "2026-11-30") -> dict[str, float]:
    """Write ``calls`` calls of a 10-manager team over the year up to ``end`` into ``db`` (a new file)."""
    if db.exists():
        raise SystemExit(f"{db}: exists; give a new file")
    rng = random.Random(seed)
    script = default_script()
    pools = {key: _pool(rng, script, key, name, level, skill) for key, name, level, skill in MANAGERS}
    days = working_days(dt.date.fromisoformat(end), 250)
    began = time.perf_counter()
    decided: list[CallRecord] = []
    with Store(db) as store:
        store.save_script(script)
        for key, name, level, _ in MANAGERS:
            store.upsert_manager(ManagerRow(id=key, name=name, level=level))
        for i in range(calls):
            day = days[i * len(days) // calls]
            key = MANAGERS[i % len(MANAGERS)][0]
            record, meta = _record(rng, rng.choice(pools[key]), i, day)
            store.save_call(record, meta, transcript_json=_transcript_json(record))
            if record.result.connected and rng.random() < DECISION_SHARE + DISPUTE_SHARE:
                decided.append(record)
            if i % len(MANAGERS) == 0 and rng.random() < 0.3:
                store.save_sales(DaySales(manager=key, date=day.isoformat(), sales_count=rng.randrange(1, 4),
                                          sales_sum=float(rng.randrange(5, 60) * 1000)))
        _review(store, rng, decided)
    return {"calls": calls, "seconds": time.perf_counter() - began}


_DUMPED: dict[int, str] = {}


def _transcript_json(record: CallRecord) -> str | None:
    """Templates share transcripts: serialise each once."""
    if record.transcript is None:
        return None
    key = id(record.transcript)
    if key not in _DUMPED:
        _DUMPED[key] = record.transcript.model_dump_json()
    return _DUMPED[key]


def _review(store: Store, rng: random.Random, decided: list[CallRecord]) -> None:
    """The lead's decisions and the managers' disputes on a few calls, through the review ledger."""
    for record in decided:
        stage = rng.choice([s for s in record.result.stages if s.applies] or record.result.stages)
        if record.result.flags:
            confirm_flags(store, record.call_id, by="lead")
        elif rng.random() < DECISION_SHARE / (DECISION_SHARE + DISPUTE_SHARE):
            set_override(store, record.call_id, stage.id, not stage.present, by="lead", note="прослушано")
        else:
            open_dispute(store, record.call_id, stage.id, by=record.manager, comment="этап был")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=26)
    args = parser.parse_args()
    out = make_history(args.db, args.calls, args.seed)
    print(f"{out['calls']} calls → {args.db} in {out['seconds']:.1f} s "
          f"({1000 * out['seconds'] / max(1, out['calls']):.2f} ms a call)")


if __name__ == "__main__":
    main()
