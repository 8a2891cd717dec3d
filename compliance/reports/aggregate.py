"""A manager's page and the team overview: periods, stage and line rates, readiness, every call."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Iterable, Mapping, Optional, Sequence

from compliance.history.daily import DAILY_TARGET
from compliance.history.outcomes import Conversion
from compliance.history.readiness import Readiness
from compliance.history.schema import Failure as StoredFailure
from compliance.messages import Message
from compliance.scoring.result import CallRecord
from compliance.scoring.script import SalesScript

from .charts import _delta, build_daily_chart, build_sparkline, build_trend_chart
from .common import (
    ScriptSet,
    _chronological,
    _connected,
    _date,
    _mean,
    _ordered_stages,
    _script_map,
    _share_in_band,
    _stage_titles,
)
from .views import (
    CallRow,
    DayGroup,
    Failure,
    LineRate,
    ManagerPage,
    PeriodStats,
    PhraseCount,
    ReadinessView,
    StageRate,
    TeamPage,
    TeamRow,
)


def _period(key: str, records: Sequence[CallRecord], start: Optional[dt.date], end: Optional[dt.date]) -> PeriodStats:
    if start is not None and end is not None:
        records = [r for r in records if (d := _date(r.date)) is not None and start <= d <= end]
    connected = _connected(records)
    days = {r.date for r in connected if r.date}
    chats = [r for r in records if r.result.channel == "chat"]
    replied = sum(1 for r in chats if r.result.connected)
    return PeriodStats(
        key=key, start=start.isoformat() if start else None, end=end.isoformat() if end else None,
        calls=len(records) - len(chats), connected=len(connected) - replied, chats=len(chats), chats_replied=replied,
        mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
        mean_structure=_mean(r.result.structure for r in connected),
        per_day=len(connected) / len(days) if days else None,
    )


def _chats(records: Iterable[CallRecord], replied: bool = False) -> int:
    """How many of ``records`` are chats (only those the client replied in, with ``replied``)."""
    return sum(1 for r in records if r.result.channel == "chat" and (r.result.connected or not replied))


def _periods(records: Sequence[CallRecord], as_of: Optional[dt.date]) -> list[PeriodStats]:
    if as_of is None:
        return [_period("all", records, None, None)]
    return [
        _period("day", records, as_of, as_of),
        _period("week", records, as_of - dt.timedelta(days=6), as_of),
        _period("month", records, as_of - dt.timedelta(days=29), as_of),
        _period("all", records, None, None),
    ]


def _stage_rates(records: Sequence[CallRecord], scripts: Mapping[str, SalesScript]) -> list[StageRate]:
    """Hit rate of each stage over the connected calls where it applies, in script order."""
    applicable: Counter = Counter()
    present: Counter = Counter()
    scores: dict[tuple[str, str], float] = defaultdict(float)
    info: dict[tuple[str, str], tuple[str, bool, str]] = {}
    order: dict[tuple[str, str], tuple[int, int]] = {}
    script_rank: dict[str, int] = {}
    for rec in _connected(records):
        res = rec.result
        script = scripts.get(res.script_id)
        titles = _stage_titles(res, script)
        script_rank.setdefault(res.script_id, len(script_rank))
        rank = {s.id: i for i, s in enumerate(script.stages)} if script else {}
        for n, stage in enumerate(res.stages):
            key = (res.script_id, stage.id)
            info.setdefault(key, (titles.get(stage.id, stage.id), stage.required,
                                  (script.title if script else res.script_title) or res.script_id))
            order.setdefault(key, (script_rank[res.script_id], rank.get(stage.id, 1000 + n)))
            if not stage.applies:
                continue
            applicable[key] += 1
            present[key] += int(stage.present)
            scores[key] += stage.score
    rates = []
    for key in sorted(applicable, key=lambda k: order[k]):
        title, required, script_title = info[key]
        n = applicable[key]
        rates.append(StageRate(id=key[1], title=title, script_title=script_title, required=required,
                               applicable=n, present=present[key], rate=100.0 * present[key] / n,
                               mean_score=scores[key] / n))
    return rates


def _line_rates(records: Sequence[CallRecord], scripts: Mapping[str, SalesScript]) -> list[LineRate]:
    """Mean similarity of each line of each required stage, over the calls where the stage applies."""
    sums: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    texts: dict[tuple[str, str, int], Counter] = defaultdict(Counter)
    titles: dict[tuple[str, str, int], tuple[str, str]] = {}
    for rec in _connected(records):
        res = rec.result
        script = scripts.get(res.script_id)
        stage_titles = _stage_titles(res, script)
        for stage in res.stages:
            if not (stage.required and stage.applies):
                continue
            for i, line in enumerate(stage.lines):
                key = (res.script_id, stage.id, i)
                sums[key].append(line.similarity)
                texts[key][line.text] += 1
                titles.setdefault(key, (stage_titles.get(stage.id, stage.id),
                                        (script.title if script else res.script_title) or res.script_id))
    out = []
    for key, values in sums.items():
        script = scripts.get(key[0])
        script_stage = next((s for s in script.stages if s.id == key[1]), None) if script else None
        if script_stage is not None and key[2] < len(script_stage.lines):
            text = " / ".join(script_stage.alternatives()[key[2]])
        else:
            text = texts[key].most_common(1)[0][0]
        out.append(LineRate(stage_title=titles[key][0], script_title=titles[key][1], text=text,
                            calls=len(values), mean_similarity=sum(values) / len(values)))
    return out


def _forbidden_counts(records: Sequence[CallRecord]) -> list[PhraseCount]:
    count: Counter = Counter()
    calls: Counter = Counter()
    for rec in records:
        phrases = [hit.phrase for hit in rec.result.charged_forbidden]
        count.update(phrases)
        calls.update(set(phrases))
    return [PhraseCount(phrase=p, count=n, calls=calls[p]) for p, n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))]


def _readiness_view(readiness: Optional[Readiness], titles: Mapping[str, str],
                    min_presence: float = 0.9) -> Optional[ReadinessView]:
    """Plain view of a manager's ``Readiness`` (shares as percents, stages by title)."""
    if readiness is None:
        return None
    if readiness.level == "newcomer":
        ready = readiness.ready
        state = "ready" if ready is True else ("not_ready" if ready is False else "unknown")
    else:
        state = "review" if readiness.flagged_for_review else "ok"
    return ReadinessView(
        level=readiness.level, state=state, window=readiness.window, calls_considered=readiness.calls_considered,
        share_in_band=readiness.share_in_band * 100, mean_adherence=readiness.mean_adherence,
        stages=[(titles.get(sid, sid), p * 100, p < min_presence) for sid, p in readiness.stage_presence.items()],
        calls_below=len(readiness.calls_below), reasons=_reasons(readiness, titles),
        conversion=_conversion(readiness.conversion), team_conversion=_conversion(readiness.team_conversion),
        counts=readiness.counts or (Message(code=f"ready_counts_{readiness.level}")
                                    if readiness.level in ("newcomer", "experienced") else None),
    )


def _conversion(c: Optional[Conversion]) -> Optional[tuple[int, int, float, float, float]]:
    if c is None or not c.closed:
        return None
    low, high = c.interval
    return c.won, c.closed, 100 * (c.rate or 0), 100 * low, 100 * high


def _reasons(readiness: Readiness, titles: Mapping[str, str]) -> list[Message | str]:
    """Why a manager is (not) ready: codes when the readiness has them, with stage ids named by their titles."""
    if not readiness.reason_codes:
        return [_name_stages(r, titles) for r in readiness.reasons]
    return [m.model_copy(update={"params": {**m.params, "stage": _name_stages(str(m.params["stage"]), titles)}})
            if "stage" in m.params else m for m in readiness.reason_codes]


def _name_stages(text: str, titles: Mapping[str, str]) -> str:
    """Stage ids quoted in a reason («payment_timing») → their titles, for people."""
    for sid, title in titles.items():
        text = text.replace(f"«{sid}»", f"«{title}»")
    return text


def _all_titles(records: Sequence[CallRecord], scripts: Mapping[str, SalesScript]) -> dict[str, str]:
    titles: dict[str, str] = {}
    for rec in records:
        for stage in rec.result.stages:
            titles.setdefault(stage.id, stage.title or stage.id)
    for script in scripts.values():
        titles.update({s.id: s.title or s.id for s in script.stages})
    return titles


def _call_row(record: CallRecord, href: str, titles: Mapping[str, str], scripts: Mapping[str, SalesScript]) -> CallRow:
    res = record.result
    script = scripts.get(res.script_id)
    names = _stage_titles(res, script)
    return CallRow(
        href=href, date=record.date, time=record.time,
        duration=res.duration if res.duration is not None else (record.transcript.duration if record.transcript else None),
        script_title=(script.title if script else res.script_title) or res.script_id,
        connected=res.connected, reason=res.not_connected or res.not_connected_reason,
        adherence=res.adherence, coverage=res.coverage,
        structure=res.structure, verdict=res.verdict if res.connected else None,
        missed=[names.get(s.id, s.id) for s in _ordered_stages(res, script)
                if s.required and s.applies and not s.present] if res.connected else [],
        forbidden=len(res.charged_forbidden), flagged=record.awaiting_review,
        machine_adherence=record.machine.adherence if record.machine else None,
    )


def _latest(records: Sequence[CallRecord]) -> Optional[CallRecord]:
    ordered = _chronological(records)
    return ordered[-1] if ordered else None


def build_manager_page(records: Sequence[CallRecord], *, slug: str, call_hrefs: Mapping[str, str],
                       readiness: Optional[Readiness] = None, scripts: ScriptSet = None,
                       as_of: Optional[dt.date] = None,
                       daily_target: tuple[int, int] = DAILY_TARGET) -> ManagerPage:
    """The view data of one manager's page.

    Args:
        records: that manager's calls only.
        slug: the manager's folder name.
        call_hrefs: call id → link to its page, relative to the manager's folder.
        readiness: that manager's ``Readiness`` (or None).
        as_of: the day "today" means for the day/week/month figures (default: the latest call's date).
    """
    scripts = _script_map(scripts)
    ordered = _chronological(records)
    if not ordered:
        return ManagerPage(name=slug, slug=slug, level="", periods=[])
    latest = ordered[-1]
    dates = sorted({d for r in ordered if (d := _date(r.date))})
    as_of = as_of or (dates[-1] if dates else None)
    band = (float(latest.result.band[0]), float(latest.result.band[1]))
    titles = _all_titles(ordered, scripts)
    groups: dict[Optional[str], list[CallRecord]] = defaultdict(list)
    for r in reversed(ordered):
        groups[r.date].append(r)
    days = [DayGroup(date=d, connected=len(_connected(calls)), chats=_chats(calls),
                     chats_replied=_chats(calls, replied=True),
                     calls=[_call_row(r, call_hrefs[r.call_id], titles, scripts) for r in calls])
            for d, calls in sorted(groups.items(), key=lambda kv: kv[0] or "", reverse=True)]
    return ManagerPage(
        name=latest.manager_name or latest.manager, slug=slug, level=latest.level or "", band=band,
        as_of=as_of.isoformat() if as_of else None,
        first_date=dates[0].isoformat() if dates else None, last_date=dates[-1].isoformat() if dates else None,
        periods=_periods(ordered, as_of), trend=build_trend_chart(ordered, band, call_hrefs),
        daily=build_daily_chart(ordered, daily_target), daily_target=daily_target,
        stages=_stage_rates(ordered, scripts), forbidden=_forbidden_counts(ordered),
        readiness=_readiness_view(readiness, titles), days=days, total_calls=len(ordered),
        meaning_unchecked=_meaning_unchecked(ordered), has_chats=_chats(ordered) > 0,
    )


def _meaning_unchecked(records: Iterable[CallRecord]) -> int:
    return sum(1 for r in _connected(records) if not r.result.meaning_checked)


def _failure(item: StoredFailure) -> Failure:
    return Failure(file=item.file, reason=item.reason)


def build_team_page(records: Sequence[CallRecord], *, manager_hrefs: Mapping[str, str],
                    readiness: Optional[Mapping[str, Readiness]] = None, failures: Iterable[StoredFailure] = (),
                    scripts: ScriptSet = None, as_of: Optional[dt.date] = None,
                    daily_target: tuple[int, int] = DAILY_TARGET, weakest: int = 5) -> TeamPage:
    """The view data of the team overview.

    Args:
        records: every manager's calls.
        manager_hrefs: manager key → link to their page.
        readiness: manager key → ``Readiness``.
        failures: the last batch's failures, as (file, reason) pairs or objects with ``file``/``reason``.
    """
    scripts = _script_map(scripts)
    readiness = readiness or {}
    dates = sorted({d for r in records if (d := _date(r.date))})
    as_of = as_of or (dates[-1] if dates else None)
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    titles = _all_titles(records, scripts)
    rows = []
    for key, calls in by_manager.items():
        latest = _latest(calls)
        assert latest is not None  # every group has a call
        band = (float(latest.result.band[0]), float(latest.result.band[1]))
        connected = _connected(calls)
        today = [r for r in connected if as_of and _date(r.date) == as_of]
        rows.append(TeamRow(
            name=latest.manager_name or latest.manager, href=manager_hrefs[key], level=latest.level or "",
            calls=len(calls), connected=len(connected), today_connected=len(today),
            today_calls=len(today) - _chats(today), today_chats=_chats(today),
            mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
            mean_structure=_mean(r.result.structure for r in connected), band=band,
            spark=build_sparkline(calls, band), delta=_delta(calls, as_of),
            readiness=_readiness_view(readiness.get(key), titles),
        ))
    rows.sort(key=lambda row: (row.level != "newcomer", row.name.lower()))
    connected = _connected(records)
    stage_rates = [s for s in _stage_rates(records, scripts) if s.required]
    return TeamPage(
        as_of=as_of.isoformat() if as_of else None,
        first_date=dates[0].isoformat() if dates else None, last_date=dates[-1].isoformat() if dates else None,
        total_calls=len(records), connected=len(connected),
        mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
        mean_structure=_mean(r.result.structure for r in connected), daily_target=daily_target, rows=rows,
        weakest_stages=sorted([s for s in stage_rates if s.rate < 100], key=lambda s: (s.rate, s.mean_score))[:weakest],
        weakest_lines=sorted(_line_rates(records, scripts), key=lambda ln: ln.mean_similarity)[:weakest],
        failures=[_failure(f) for f in failures], meaning_unchecked=_meaning_unchecked(records),
        has_chats=_chats(records) > 0,
    )
