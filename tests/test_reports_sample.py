"""A realistic, deterministic set of scored calls for the report tests, the benchmark and screenshots.

Calls are made by hand (no audio, no matcher): a manager says each script line exactly, slightly
changed, or not at all; the line's similarity is the real RapidFuzz ratio of what was said.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Optional, Sequence

from rapidfuzz import fuzz

from compliance.scoring.result import CallRecord, ForbiddenHit, LineResult, StageResult
from compliance.scoring.score import score_call
from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import load_script
from compliance.scoring.transcript import Segment, TalkMetrics, Transcript
from tests.conftest import FROZEN_DEFAULT

CLIENT_NAMES = ("Ольга", "Андрей", "Светлана", "Игорь", "Наталья", "Дмитрий")
CLIENT_REPLIES = {
    "greeting": "Да, здравствуйте, слушаю вас.",
    "needs": "Нам нужен сайт для магазина, хотим запустить до конца месяца, бюджет около сорока тысяч гривен.",
    "offer": "Звучит хорошо, а сколько это будет стоить?",
    "payment_timing": "Думаю, оплатим на следующей неделе, частями.",
    "next_step": "Хорошо, присылайте.",
    "cannot_deliver": "Жаль. Да, давайте будем на связи.",
    "farewell": "И вам всего доброго.",
}
FILLERS = ("ну", "вот", "значит", "в общем", "смотрите")
SECONDS_PER_WORD = 0.38


def default_script() -> SalesScript:
    return load_script(FROZEN_DEFAULT)


def _fill(text: str, client: str, manager_first: str) -> str:
    return text.replace("{client}", client).replace("{manager}", manager_first).replace("{company}", "Смарт Мейкер")


def _degrade(text: str, rng: random.Random, quality: float, loose: float = 0.18) -> str:
    """What a manager says instead of a script line: words dropped (share ``loose``), fillers added, order kept."""
    words = text.split()
    if rng.random() < quality:
        return text
    out = []
    for w in words:
        r = rng.random()
        if r < loose and len(words) > 3:
            continue
        if r < loose + 0.1:
            out.append(rng.choice(FILLERS))
        out.append(w)
    return " ".join(out) or text


def _ratio(a: str, b: str) -> float:
    return round(fuzz.ratio(a.lower().replace("ё", "е"), b.lower().replace("ё", "е")), 1)


def make_call(script: SalesScript, *, call_id: str, manager: str, manager_name: str, level: str, date: str,
              time: str, seed: int, quality: float = 0.7, skip: Sequence[str] = (), branch_no: bool = False,
              forbidden: Sequence[str] = (), swap: Optional[tuple[str, str]] = None, connected: bool = True,
              reason: str = "автоответчик", audio: Optional[str] = None, client_text: Optional[str] = None,
              stereo: bool = True, loose: float = 0.18) -> CallRecord:
    """One scored call. ``skip``: stage ids not said; ``forbidden``: phrases slipped into the manager's talk;
    ``swap``: two stages said in the wrong order; ``client_text``: an extra client line (untrusted text)."""
    rng = random.Random(seed)
    script.band(level)  # an unknown level fails here, as it would in the product
    if not connected:
        seg = Segment(text="Абонент не отвечает, оставьте сообщение после сигнала.", speaker="client", start=0.0, end=4.0)
        voicemail = Transcript(segments=[seg], duration=6.0, language="ru", source=f"{call_id}.wav")
        return CallRecord(call_id=call_id, file=f"{call_id}.wav", manager=manager, manager_name=manager_name, date=date,
                          time=time, level=level, result=score_call(voicemail, script, level), audio=audio,
                          transcript=voicemail)
    client = CLIENT_NAMES[seed % len(CLIENT_NAMES)]
    manager_first = manager_name.split()[-1] if manager_name else "Мария"
    excluded = {"offer", "payment_timing", "next_step"} if branch_no else {"cannot_deliver"}
    stages = [s for s in script.stages]
    if swap:
        i, j = [next(k for k, s in enumerate(stages) if s.id == sid) for sid in swap]
        stages[i], stages[j] = stages[j], stages[i]
    segments: list[Segment] = []
    clock = 0.4
    results: dict[str, StageResult] = {}
    pending_forbidden = list(forbidden)
    hits: list[ForbiddenHit] = []
    for stage in stages:
        applies = stage.id not in excluded
        if not applies or stage.id in skip:
            lines = [LineResult(text=alts[0], similarity=0.0, alternatives=alts) for alts in stage.alternatives()]
            results[stage.id] = StageResult(id=stage.id, title=stage.title, required=stage.required, weight=stage.weight,
                                            score=0.0, present=False, applies=applies and stage.required, lines=lines)
            continue
        turn = len(segments)
        said_parts, lines = [], []
        offset = clock
        for alts in stage.alternatives():
            alt = rng.choice(alts)
            target = _fill(alt, client, manager_first)
            said = _degrade(target, rng, quality, loose)
            if rng.random() > 0.93 + 0.07 * quality:  # now and then a line is simply not said
                lines.append(LineResult(text=alt, similarity=round(rng.uniform(5, 25), 1), alternatives=alts))
                continue
            lines.append(LineResult(text=alt, similarity=_ratio(target, said), matched=said, start=round(offset, 2),
                                    end=round(offset + SECONDS_PER_WORD * len(said.split()), 2), turn=turn,
                                    alternatives=alts))
            said_parts.append(said)
            offset += SECONDS_PER_WORD * len(said.split()) + 0.3
        text = " ".join(said_parts) or "Так."
        if pending_forbidden and stage.id in ("needs", "offer", "payment_timing"):
            phrase = pending_forbidden.pop(0)
            text = f"{phrase.capitalize()}… {text}"
            hits.append(ForbiddenHit(phrase=phrase, matched=phrase.capitalize(), start=round(clock, 2), turn=turn))
        end = clock + SECONDS_PER_WORD * len(text.split())
        segments.append(Segment(text=text, speaker="manager", start=round(clock, 2), end=round(end, 2)))
        reply = CLIENT_REPLIES.get(stage.id, "Понятно.")
        c_start = end + 0.6
        c_end = c_start + SECONDS_PER_WORD * len(reply.split())
        segments.append(Segment(text=reply, speaker="client", start=round(c_start, 2), end=round(c_end, 2)))
        clock = c_end + 0.5
        score = round(sum(ln.similarity for ln in lines) / len(lines), 1)
        first = next((ln for ln in lines if ln.matched), None)
        results[stage.id] = StageResult(id=stage.id, title=stage.title, required=stage.required, weight=stage.weight,
                                        score=score, present=score >= 50, applies=True,
                                        start=first.start if first else None, turn=turn, lines=lines)
    if client_text:
        segments.insert(1, Segment(text=client_text, speaker="client", start=segments[0].end, end=segments[0].end))
        for st in results.values():  # keep turn indexes pointing at the same segments
            if st.turn is not None and st.turn >= 1:
                st.turn += 1
                for ln in st.lines:
                    ln.turn = st.turn if ln.turn is not None else None
        for hit in hits:
            hit.turn = hit.turn + 1 if hit.turn is not None and hit.turn >= 1 else hit.turn
    m_speech = sum(s.end - s.start for s in segments if s.speaker == "manager")
    c_speech = sum(s.end - s.start for s in segments if s.speaker == "client")
    duration = round(clock + 1.0, 1)
    talk = TalkMetrics(manager_share=round(m_speech / duration, 3), client_share=round(c_speech / duration, 3),
                       longest_manager_monologue=round(max(s.end - s.start for s in segments if s.speaker == "manager"), 1),
                       interruptions=seed % 3, silence=round(duration - m_speech - c_speech, 1),
                       manager_speech=round(m_speech, 1), client_speech=round(c_speech, 1)) if stereo else None
    if not stereo:
        segments = [s.model_copy(update={"speaker": "unknown"}) for s in segments]
    transcript = Transcript(segments=segments, duration=duration, language="ru", model="base", talk=talk,
                            source=f"{call_id}.wav")
    # The score is the real matcher's, so the golden pages show what the product shows.
    result = score_call(transcript, script, level)
    return CallRecord(call_id=call_id, file=f"{call_id}.wav", manager=manager, manager_name=manager_name, date=date,
                      time=time, level=level, result=result, transcript=transcript, audio=audio, model="base")


def sample_records(script: Optional[SalesScript] = None, *, hostile: bool = True, audio: Optional[str] = None) -> list[CallRecord]:
    """The fixed set of the golden tests: three managers over a week, every kind of call once.

    ``hostile`` adds a manager whose name, and a client line, carry HTML (``<script>``).
    """
    script = script or default_script()
    recs = []
    plan = [
        # (manager, name, level, date, time, seed, quality, options)
        ("ivanova", "Иванова Мария", "newcomer", "2026-11-23", "09:42:10", 1, 0.9, {}),
        ("ivanova", "Иванова Мария", "newcomer", "2026-11-24", "10:15:02", 2, 0.6, {"skip": ["payment_timing"],
                                                                                     "forbidden": ["не знаю"]}),
        ("ivanova", "Иванова Мария", "newcomer", "2026-11-26", "11:03:44", 3, 0.95, {"swap": ("needs", "offer")}),
        ("ivanova", "Иванова Мария", "newcomer", "2026-11-27", "10:15:02", 4, 1.0, {"audio": audio}),
        ("ivanova", "Иванова Мария", "newcomer", "2026-11-27", "10:31:40", 5, 0.9, {"connected": False}),
        ("petrov", "Петров Олег", "experienced", "2026-11-26", "14:20:00", 6, 0.3, {"branch_no": True}),
        ("petrov", "Петров Олег", "experienced", "2026-11-27", "15:05:30", 7, 0.4, {"forbidden": ["как бы", "типа"],
                                                                                  "stereo": False}),
    ]
    if hostile:
        plan.append(("x-hostile", "<script>alert('имя')</script> Хакер", "newcomer", "2026-11-27", "16:00:00", 8, 0.8,
                     {"client_text": "<script>alert('реплика')</script> <b>жирный</b> & «кавычки»"}))
    for n, (key, name, level, date, time, seed, quality, opts) in enumerate(plan):
        recs.append(make_call(script, call_id=f"call{n:03d}", manager=key, manager_name=name, level=level, date=date,
                              time=time, seed=seed, quality=quality, **opts))
    return recs


def bulk_records(n_calls: int = 1000, n_managers: int = 20, *, days: int = 20, seed: int = 7,
                 script: Optional[SalesScript] = None, end: str = "2026-11-27") -> list[CallRecord]:
    """Many plausible calls (for the benchmark and the README screenshots)."""
    script = script or default_script()
    rng = random.Random(seed)
    first = ["Мария", "Олег", "Ирина", "Сергей", "Анна", "Максим", "Юлия", "Денис", "Ольга", "Артём",
             "Елена", "Павел", "Дарья", "Никита", "Алина", "Роман", "Ксения", "Иван", "Виктория", "Тимур"]
    last = ["Иванова", "Петров", "Соколова", "Кузнецов", "Попова", "Лебедев", "Новикова", "Морозов", "Волкова",
            "Фёдоров", "Зайцева", "Павлов", "Семёнова", "Голубев", "Виноградова", "Богданов", "Орлова", "Киселёв",
            "Макарова", "Андреев"]
    managers = [(f"m{i:02d}", f"{last[i % 20]} {first[i % 20]}", "newcomer" if i % 3 == 0 else "experienced",
                 rng.uniform(0.35, 0.95)) for i in range(n_managers)]
    end_day = dt.date.fromisoformat(end)
    out = []
    for i in range(n_calls):
        key, name, level, skill = managers[i % n_managers]
        day = end_day - dt.timedelta(days=rng.randrange(days))
        t = f"{9 + rng.randrange(9):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
        opts: dict = {}
        roll = rng.random()
        if roll < 0.12:
            opts["connected"] = False
            opts["reason"] = rng.choice(["автоответчик", "сброс через 2 с", "нет ответа"])
        elif roll < 0.3:
            opts["skip"] = [rng.choice(["needs", "payment_timing", "next_step", "farewell"])]
        if rng.random() < 0.15:
            opts["forbidden"] = [rng.choice(script.forbidden_phrases())]
        if rng.random() < 0.1:
            opts["branch_no"] = True
        if level == "experienced":  # says it in their own words
            opts["loose"] = 0.5 + 0.15 * (1 - skill)
            skill = 0.0
        out.append(make_call(script, call_id=f"b{i:05d}", manager=key, manager_name=name, level=level,
                             date=day.isoformat(), time=t, seed=seed * 100000 + i,
                             quality=min(1.0, max(0.0, rng.gauss(skill, 0.12))), **opts))
    return out


def test_sample_is_consistent():
    recs = sample_records()
    assert len({r.call_id for r in recs}) == len(recs)
    for rec in recs:
        res = rec.result
        if not res.connected:
            continue
        for stage in res.stages:
            for line in stage.lines:
                if line.span is not None and line.span.turn_end is None:
                    # the stored span points at the matched words in the turn
                    text = rec.transcript.segments[line.span.turn].text
                    assert text[line.span.char_start:line.span.char_end] == line.matched
