"""A manager's page and the team overview: periods, stage and line rates, readiness, every call."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Iterable, Mapping, Optional, Sequence, cast

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
from .tally import Digest, Tally
from .views import (
    CallRow,
    DayGroup,
    Failure,
    ManagerPage,
    PeriodStats,
    ReadinessView,
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


class DayRows:
    """A manager's calls as the page lists them, fed in time order: by day, newest day and call first."""

    def __init__(self, scripts: Mapping[str, SalesScript]) -> None:
        self.scripts = scripts
        self.by_day: dict[Optional[str], tuple[list[CallRow], list[int]]] = {}   # rows; connected, chats, replied

    def add(self, record: CallRecord, href: str) -> None:
        rows, counts = self.by_day.setdefault(record.date, ([], [0, 0, 0]))
        rows.append(_call_row(record, href, {}, self.scripts))
        res = record.result
        counts[0] += int(res.connected)
        counts[1] += int(res.channel == "chat")
        counts[2] += int(res.channel == "chat" and res.connected)

    def days(self) -> list[DayGroup]:
        return [DayGroup(date=d, connected=counts[0], chats=counts[1], chats_replied=counts[2], calls=rows[::-1])
                for d, (rows, counts) in sorted(self.by_day.items(), key=lambda kv: kv[0] or "", reverse=True)]


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
    tally, rows = Tally(scripts), DayRows(scripts)
    for r in ordered:
        tally.add(r)
        rows.add(r, call_hrefs[r.call_id])
    return manager_page(ordered, tally, rows.days(), slug=slug, call_hrefs=call_hrefs, readiness=readiness,
                        as_of=as_of, daily_target=daily_target)


def manager_page(ordered: Sequence[CallRecord | Digest], tally: Tally, days: list[DayGroup], *, slug: str,
                 call_hrefs: Mapping[str, str], readiness: Optional[Readiness], as_of: Optional[dt.date],
                 daily_target: tuple[int, int]) -> ManagerPage:
    """``build_manager_page`` from what was added up as the calls went by: their digests (or records) in time
    order, the ``Tally`` of their records, and the days listed."""
    if not ordered:
        return ManagerPage(name=slug, slug=slug, level="", periods=[])
    calls = cast(Sequence[CallRecord], ordered)   # a digest has what the figures and charts read
    latest = calls[-1]
    dates = sorted({d for r in calls if (d := _date(r.date))})
    as_of = as_of or (dates[-1] if dates else None)
    band = (float(latest.result.band[0]), float(latest.result.band[1]))
    return ManagerPage(
        name=latest.manager_name or latest.manager, slug=slug, level=latest.level or "", band=band,
        as_of=as_of.isoformat() if as_of else None,
        first_date=dates[0].isoformat() if dates else None, last_date=dates[-1].isoformat() if dates else None,
        periods=_periods(calls, as_of), trend=build_trend_chart(calls, band, call_hrefs),
        daily=build_daily_chart(calls, daily_target), daily_target=daily_target,
        stages=tally.stage_rates(), forbidden=tally.phrases(),
        readiness=_readiness_view(readiness, tally.titles()), days=days, total_calls=len(calls),
        meaning_unchecked=_meaning_unchecked(calls), has_chats=_chats(calls) > 0,
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
    tally = Tally(scripts)
    for r in records:
        tally.add(r)
    return team_page(records, tally, manager_hrefs=manager_hrefs, readiness=readiness, failures=failures,
                     as_of=as_of, daily_target=daily_target, weakest=weakest)


def team_page(calls: Sequence[CallRecord | Digest], tally: Tally, *, manager_hrefs: Mapping[str, str],
              readiness: Optional[Mapping[str, Readiness]] = None, failures: Iterable[StoredFailure] = (),
              as_of: Optional[dt.date] = None, daily_target: tuple[int, int] = DAILY_TARGET,
              weakest: int = 5) -> TeamPage:
    """``build_team_page`` from what was added up as the calls went by: every call's digest (or record), in the
    order given, and the ``Tally`` of their records."""
    records = cast(Sequence[CallRecord], calls)   # a digest has what the figures and charts read
    readiness = readiness or {}
    dates = sorted({d for r in records if (d := _date(r.date))})
    as_of = as_of or (dates[-1] if dates else None)
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    titles = tally.titles()
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
    stage_rates = [s for s in tally.stage_rates() if s.required]
    return TeamPage(
        as_of=as_of.isoformat() if as_of else None,
        first_date=dates[0].isoformat() if dates else None, last_date=dates[-1].isoformat() if dates else None,
        total_calls=len(records), connected=len(connected),
        mean_adherence=_mean(r.result.adherence for r in connected), share_in_band=_share_in_band(connected),
        mean_structure=_mean(r.result.structure for r in connected), daily_target=daily_target, rows=rows,
        weakest_stages=sorted([s for s in stage_rates if s.rate < 100], key=lambda s: (s.rate, s.mean_score))[:weakest],
        weakest_lines=sorted(tally.line_rates(), key=lambda ln: ln.mean_similarity)[:weakest],
        failures=[_failure(f) for f in failures], meaning_unchecked=_meaning_unchecked(records),
        has_chats=_chats(records) > 0,
    )
