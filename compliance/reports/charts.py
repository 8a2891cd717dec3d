"""Inline SVG charts as data: a manager's trend, calls per day, the team's sparklines."""
from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Mapping, Optional, Sequence

from compliance.history.daily import DAILY_TARGET
from compliance.scoring.result import CallRecord, band_verdict

from .common import _connected, _date
from .views import Chart, ChartBar, ChartPoint


def _day_axis(days: list[dt.date], width: float, left: float, right: float) -> dict[dt.date, float]:
    if len(days) == 1:
        return {days[0]: (left + width - right) / 2}
    span = (days[-1] - days[0]).days or 1
    usable = width - left - right
    return {d: left + usable * (d - days[0]).days / span for d in days}


def _x_labels(xs: dict[dt.date, float], max_labels: int = 8) -> list[tuple[float, str]]:
    days = sorted(xs)
    picked = days[:: max(1, -(-len(days) // max_labels))]
    if picked[-1] != days[-1]:
        if xs[days[-1]] - xs[picked[-1]] < 36:
            picked[-1] = days[-1]
        else:
            picked.append(days[-1])
    return [(xs[d], d.strftime("%d.%m")) for d in picked]


def build_trend_chart(records: Sequence[CallRecord], band: Optional[tuple[float, float]],
                      hrefs: Mapping[str, str] | None = None, *, width: float = 720, height: float = 220,
                      max_days: int = 30) -> Optional[Chart]:
    """Adherence of each connected call (dots) and the daily mean (line) over the last ``max_days`` days with calls."""
    dated = [(day, r, adherence) for r in _connected(records)
             if (adherence := r.result.adherence) is not None and (day := _date(r.date)) is not None]
    if not dated:
        return None
    days = sorted({day for day, _, _ in dated})[-max_days:]
    left, right, top, bottom = 34.0, 24.0, 12.0, 24.0
    xs = _day_axis(days, width, left, right)
    ys = lambda v: top + (height - top - bottom) * (1 - max(0.0, min(100.0, v)) / 100)  # noqa: E731
    chart = Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom,
                  y_ticks=[(ys(v), f"{v}") for v in (0, 25, 50, 75, 100)], x_labels=_x_labels(xs))
    if band is not None:
        chart.band_top, chart.band_bottom = ys(band[1]), ys(band[0])
        chart.band_label = f"{band[0]:g}–{band[1]:g}"
    by_day: dict[dt.date, list[tuple[CallRecord, float]]] = defaultdict(list)
    for day, r, adherence in dated:
        if day >= days[0]:
            by_day[day].append((r, adherence))
    hrefs = hrefs or {}
    for day in days:
        calls = by_day[day]
        spread = min(10.0, (width - left - right) / max(len(days), 1) / 3)
        for k, (r, adherence) in enumerate(calls):
            dx = 0.0 if len(calls) == 1 else spread * (k / (len(calls) - 1) - 0.5)
            chart.points.append(ChartPoint(
                x=round(xs[day] + dx, 1), y=round(ys(adherence), 1),
                label=f"{r.date} {(r.time or '')[:5]} — {adherence:.0f}",
                kind=r.result.verdict or "", href=hrefs.get(r.call_id)))
        mean = sum(adherence for _, adherence in calls) / len(calls)
        chart.line_points.append(ChartPoint(x=round(xs[day], 1), y=round(ys(mean), 1),
                                            label=f"{day.isoformat()}: {mean:.1f}"))
    chart.line = " ".join(f"{p.x},{p.y}" for p in chart.line_points)
    return chart


def build_daily_chart(records: Sequence[CallRecord], target: tuple[int, int] = DAILY_TARGET, *,
                      width: float = 720, height: float = 180, max_days: int = 30) -> Optional[Chart]:
    """Connected calls per day (bars) against the daily target band."""
    per_day: Counter = Counter()
    for r in records:
        day = _date(r.date)
        if day is not None:
            per_day[day] += int(r.result.connected)
    if not per_day:
        return None
    days = sorted(per_day)[-max_days:]
    left, right, top, bottom = 34.0, 24.0, 16.0, 24.0
    top_value = max(target[1] + 5, max(per_day[d] for d in days))
    ys = lambda v: top + (height - top - bottom) * (1 - v / top_value)  # noqa: E731
    slot = (width - left - right) / len(days)
    bar_w = max(4.0, min(28.0, slot * 0.7))
    chart = Chart(width=width, height=height, left=left, right=right, top=top, bottom=bottom,
                  band_top=ys(target[1]), band_bottom=ys(target[0]), band_label=f"{target[0]}–{target[1]}",
                  y_ticks=[(ys(v), str(v)) for v in (0, target[0], target[1])])
    step = max(1, -(-len(days) // 10))
    for i, day in enumerate(days):
        n = per_day[day]
        x = left + slot * i + (slot - bar_w) / 2
        kind = str(band_verdict(n, target))
        chart.bars.append(ChartBar(x=round(x, 1), y=round(ys(n), 1), width=round(bar_w, 1),
                                   height=round(ys(0) - ys(n), 1), value=n, label=day.strftime("%d.%m"), kind=kind))
        if i % step == 0 or i == len(days) - 1:
            chart.x_labels.append((round(x + bar_w / 2, 1), day.strftime("%d.%m")))
    return chart


def build_sparkline(records: Sequence[CallRecord], band: Optional[tuple[float, float]], *,
                    width: float = 120, height: float = 28, max_days: int = 14) -> Optional[Chart]:
    """Daily mean adherence over the last ``max_days`` days with calls, as a tiny line."""
    by_day: dict[dt.date, list[float]] = defaultdict(list)
    for r in _connected(records):
        day = _date(r.date)
        if day is not None and r.result.adherence is not None:
            by_day[day].append(r.result.adherence)
    if not by_day:
        return None
    days = sorted(by_day)[-max_days:]
    means = {d: sum(by_day[d]) / len(by_day[d]) for d in days}
    # Scaled to the values and the band (not 0–100), so a few points' change is visible.
    lo = max(0.0, min([*means.values(), *(band[:1] if band else ())]) - 5)
    hi = min(100.0, max([*means.values(), *(band[1:] if band else ())]) + 5)
    pad = 3.0
    xs = _day_axis(days, width, pad, pad)
    ys = lambda v: pad + (height - 2 * pad) * (1 - (max(lo, min(hi, v)) - lo) / ((hi - lo) or 1))  # noqa: E731
    chart = Chart(width=width, height=height, left=pad, right=pad, top=pad, bottom=pad)
    if band is not None:
        chart.band_top, chart.band_bottom = ys(band[1]), ys(band[0])
    for day in days:
        chart.line_points.append(ChartPoint(x=round(xs[day], 1), y=round(ys(means[day]), 1),
                                            label=f"{day.strftime('%d.%m')}: {means[day]:.0f}"))
    chart.line = " ".join(f"{p.x},{p.y}" for p in chart.line_points)
    return chart


def _delta(records: Sequence[CallRecord], as_of: Optional[dt.date]) -> Optional[float]:
    if as_of is None:
        return None
    recent, before = [], []
    for r in _connected(records):
        day = _date(r.date)
        if day is None or r.result.adherence is None:
            continue
        age = (as_of - day).days
        if 0 <= age < 7:
            recent.append(r.result.adherence)
        elif 7 <= age < 14:
            before.append(r.result.adherence)
    if not recent or not before:
        return None
    return sum(recent) / len(recent) - sum(before) / len(before)
