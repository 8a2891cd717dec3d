"""A report set written as the calls go by: each call's page as soon as its record is read, the manager and team
pages from what was added up on the way (``tally``), so a year of calls is never in memory at once.

The calls come in time order (date, time, call id), a chunk at a time; what stays per call is its ``Digest`` (a
few hundred bytes: the period figures and charts) and, for the days its manager's page lists, its row. A manager
with calls on more than ``LISTED_DAYS`` days (a report over months) gets a page per month that lists that month's
calls by day, and a table of the months on their page, which lists only the last ``LISTED_DAYS`` days: a year's
page with every call on it would be ten thousand rows nobody scrolls, and the month is how the team reads its
progress.
"""
from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping, NamedTuple, Optional, Sequence, cast
from urllib.parse import quote

import jinja2

from compliance.history.readiness import Readiness
from compliance.history.roster import Targets, Team
from compliance.history.schema import Failure as StoredFailure
from compliance.scoring.result import CallRecord
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.text.slug import slugify, unique_slugs

from .aggregate import DayRows, _period, manager_page, team_page
from .call_page import build_call_page
from .render import render_call_page, render_manager_page, render_month_page, render_team_page
from .tally import Digest, Tally
from .views import MonthPage, MonthRow

LISTED_DAYS = 31   # days with calls a manager's page lists; a longer report lists the rest by month


class Listed(NamedTuple):
    """What the writer knows of a call before reading it: enough to name its page and its neighbours'."""

    call_id: str
    manager: str
    date: Optional[str]
    time: Optional[str]


def chronological_key(call: Listed | CallRecord) -> tuple[str, str, str]:
    return (call.date or "", call.time or "", call.call_id)


def call_stems(calls: Sequence[Listed]) -> list[str]:
    """Each call's page file stem, in the order given (time order): ``2026-11-27_10-15-02``, unique in the set."""
    stems: list[str] = []
    taken: set[str] = set()
    for r in calls:
        base = slugify("_".join(p for p in (r.date, (r.time or "").replace(":", "-")) if p), "call")
        if base == "call":
            base = slugify(f"call-{r.call_id[:12]}", "call")
        stem, n = base, 1
        while stem in taken:
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem)
        stems.append(stem)
    return stems


@dataclass
class _Manager:
    key: str
    slug: str
    calls: list[Listed]
    scripts: Mapping[str, SalesScript]
    stems: list[str] = field(default_factory=list)
    done: int = 0
    digests: list[Digest] = field(default_factory=list)
    listed_from: Optional[str] = None         # the first day the page lists (None: every day)
    month: Optional[str] = None               # the month whose page is being filled
    month_rows: Optional[DayRows] = None
    months: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stems = call_stems(self.calls)
        self.tally = Tally(self.scripts)
        self.rows = DayRows(self.scripts)
        days = sorted({c.date for c in self.calls if c.date})
        if len(days) > LISTED_DAYS:
            self.listed_from = days[-LISTED_DAYS]


class _Writer:
    def __init__(self, root: Path, calls: Sequence[Listed], scripts: Mapping[str, SalesScript], env: jinja2.Environment,
                 copy_audio: bool, transcript_of: Optional[Callable[[str], Optional[Transcript]]]) -> None:
        self.root, self.scripts, self.env = root, scripts, env
        self.copy_audio, self.transcript_of = copy_audio, transcript_of
        grouped: dict[str, list[Listed]] = {}
        for call in calls:
            grouped.setdefault(call.manager, []).append(call)
        slugs = unique_slugs(grouped, fallback="manager")
        self.managers = {key: _Manager(key, slugs[key], mine, scripts) for key, mine in grouped.items()}
        self.tally = Tally(scripts)
        self.digests: list[Digest] = []

    def folder(self, m: _Manager) -> Path:
        return self.root / "managers" / m.slug

    def add(self, rec: CallRecord) -> None:
        m = self.managers[rec.manager]
        i = m.done
        while i < len(m.calls) and m.calls[i].call_id != rec.call_id:
            i += 1   # a listed call gone from the history since it was listed (its neighbours' links stay)
        if i == len(m.calls):
            raise ValueError(f"call {rec.call_id} out of the listed order")
        m.done = i + 1
        self._call_page(m, i, rec)
        self.tally.add(rec)
        m.tally.add(rec)
        digest = Digest.of(rec)
        self.digests.append(digest)
        m.digests.append(digest)
        href = f"calls/{m.stems[i]}.html"
        if m.listed_from is None or rec.date is None or rec.date >= m.listed_from:
            m.rows.add(rec, href)
        if m.listed_from is not None and rec.date:
            self._month_row(m, rec, href)

    def _call_page(self, m: _Manager, i: int, rec: CallRecord) -> None:
        folder = self.folder(m)
        if not m.digests:   # the manager's first call
            (folder / "calls").mkdir(parents=True)
        if self.transcript_of is not None and rec.transcript is None:  # read for its page only, then let go
            rec = rec.model_copy(update={"transcript": self.transcript_of(rec.call_id)})
        page = build_call_page(rec, self.scripts.get(rec.result.script_id), page_dir=folder / "calls")
        page.back_href = "../index.html"
        page.prev_href = f"{m.stems[i - 1]}.html" if i > 0 else None
        page.next_href = f"{m.stems[i + 1]}.html" if i + 1 < len(m.stems) else None
        if self.copy_audio and page.audio_href:
            page.audio_href = _copy_recording(rec, folder / "audio", m.stems[i]) or page.audio_href
        (folder / "calls" / f"{m.stems[i]}.html").write_text(render_call_page(page, self.env), encoding="utf-8")

    def _month_row(self, m: _Manager, rec: CallRecord, href: str) -> None:
        month = (rec.date or "")[:7]
        if month != m.month:
            self._month_page(m)
            m.month, m.month_rows = month, DayRows(self.scripts)
            m.months.append(month)
        assert m.month_rows is not None
        m.month_rows.add(rec, f"../{href}")

    def _month_page(self, m: _Manager) -> None:
        if m.month is None or m.month_rows is None:
            return
        first = dt.date.fromisoformat(f"{m.month}-01")
        stats = _period(m.month, self._month_digests(m, m.month), first, _month_end(first))
        page = MonthPage(name=m.digests[-1].manager_name or m.key, month=stats, days=m.month_rows.days())
        (self.folder(m) / "months").mkdir(exist_ok=True)
        (self.folder(m) / "months" / f"{m.month}.html").write_text(render_month_page(page, self.env),
                                                                     encoding="utf-8")
        m.month, m.month_rows = None, None

    @staticmethod
    def _month_digests(m: _Manager, month: str) -> Sequence[CallRecord]:
        # a digest has what the period figures read
        return cast(Sequence[CallRecord], [d for d in m.digests if (d.date or "")[:7] == month])

    def finish(self, readiness: Mapping[str, Readiness], failures: Iterable[StoredFailure], as_of: Optional[dt.date],
               team: Optional[Team]) -> None:
        targets = team.targets_for if team else lambda key: Targets()
        for key, m in self.managers.items():
            if not m.digests:
                continue   # every listed call of theirs gone meanwhile
            self._month_page(m)
            page = manager_page(m.digests, m.tally, m.rows.days(), slug=m.slug,
                                call_hrefs={c.call_id: f"calls/{s}.html" for c, s in zip(m.calls, m.stems)},
                                readiness=readiness.get(key), as_of=as_of, daily_target=targets(key).daily_band)
            if m.listed_from is not None:
                page.listed_days = LISTED_DAYS
                page.months = [self._month_stats(m, month) for month in m.months]
            (self.folder(m) / "index.html").write_text(render_manager_page(page, self.env), encoding="utf-8")
            m.digests, m.rows = [], DayRows(self.scripts)   # let go of what the team page does not need
        overview = team_page(self.digests, self.tally,
                         manager_hrefs={k: f"managers/{m.slug}/index.html" for k, m in self.managers.items()},
                         readiness=readiness, failures=failures, as_of=as_of, daily_target=targets(None).daily_band)
        (self.root / "index.html").write_text(render_team_page(overview, self.env), encoding="utf-8")

    def _month_stats(self, m: _Manager, month: str) -> MonthRow:
        first = dt.date.fromisoformat(f"{month}-01")
        stats = _period(month, self._month_digests(m, month), first, _month_end(first))
        return MonthRow(**stats.model_dump(), href=f"months/{month}.html")


def _month_end(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def write_calls(root: Path, calls: Sequence[Listed], records: Iterable[CallRecord], *,
                readiness: Mapping[str, Readiness], failures: Iterable[StoredFailure],
                scripts: Mapping[str, SalesScript], env: jinja2.Environment, as_of: Optional[dt.date],
                copy_audio: bool = False, team: Optional[Team] = None,
                transcript_of: Optional[Callable[[str], Optional[Transcript]]] = None) -> None:
    """Write the report set into ``root``: ``calls`` lists every call in time order (``chronological_key``),
    ``records`` gives the same calls in the same order, read as they are needed.

    Raises:
        ValueError: ``records`` do not follow ``calls``.
    """
    writer = _Writer(root, calls, scripts, env, copy_audio, transcript_of)
    for rec in records:
        writer.add(rec)
    writer.finish(readiness, failures, as_of, team)


def _copy_recording(record: CallRecord, audio_dir: Path, stem: str) -> Optional[str]:
    """Copy a call's recording next to its page; the link from the call page, or None when it is missing."""
    source = Path(record.audio or "")
    if not source.is_file():
        return None
    audio_dir.mkdir(exist_ok=True)
    target = audio_dir / f"{stem}{source.suffix.lower()}"
    shutil.copy2(source, target)
    return f"../audio/{quote(target.name)}"
