"""Deal outcomes kept with the history (`compliance pipedrive sync` writes them), and what they say: does a script
stage go with won deals? Win rates with and without the stage, and how sure that is.

A deal is the unit: it had a stage when any of its connected calls had it (the lead's decisions applied). Only
closed deals count (won or lost). A difference is claimed only with its interval and group sizes, and only where
each group holds at least ``MIN_GROUP`` closed deals; otherwise the answer is «мало данных: N сделок».

Intervals: Wilson's score interval for one rate; Newcombe's hybrid score interval (his method 10, 1998) for the
difference of two independent rates — both keep their nominal coverage at the small counts a team has, where the
textbook normal interval does not.
"""
from __future__ import annotations

import math
import sqlite3
from collections import defaultdict
from statistics import NormalDist
from typing import Iterable, Optional

from pydantic import BaseModel, Field

from compliance.history.store import Store

MIN_GROUP = 30          # closed deals each side needs before a lift is shown (documented in README)
CONFIDENCE = 0.95


def _z(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson's score interval for a rate of ``successes`` in ``n`` (0..1); (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    z = _z(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k0: int, n0: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Newcombe's hybrid score interval for p1 − p0 (rates k1/n1 and k0/n0), from the two Wilson intervals."""
    p1, p0 = k1 / n1, k0 / n0
    l1, u1 = wilson(k1, n1, confidence)
    l0, u0 = wilson(k0, n0, confidence)
    d = p1 - p0
    return d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


class DealStages(BaseModel):
    """One closed (or open) deal and which script stages its calls had."""

    deal_id: int
    status: str                                   # open | won | lost | deleted
    value: float = 0.0
    currency: str = ""
    manager: str = ""
    stages: dict[str, bool] = Field(default_factory=dict)   # stage id → present in any of its connected calls

    @property
    def closed(self) -> bool:
        return self.status in ("won", "lost")


class Lift(BaseModel):
    """Win rate of closed deals with a stage against those without it."""

    stage_id: str
    title: str = ""
    with_deals: int
    with_won: int
    without_deals: int
    without_won: int
    min_group: int = MIN_GROUP
    confidence: float = CONFIDENCE

    @property
    def enough(self) -> bool:
        return min(self.with_deals, self.without_deals) >= self.min_group

    @property
    def rate_with(self) -> Optional[float]:
        return self.with_won / self.with_deals if self.with_deals else None

    @property
    def rate_without(self) -> Optional[float]:
        return self.without_won / self.without_deals if self.without_deals else None

    @property
    def interval(self) -> Optional[tuple[float, float]]:
        """The interval of the difference (rate with − rate without), or None without enough deals."""
        if not self.enough:
            return None
        return newcombe(self.with_won, self.with_deals, self.without_won, self.without_deals, self.confidence)

    @property
    def claim(self) -> str:
        """``more`` / ``less`` when the interval leaves out zero, ``unclear`` when it holds it, ``few`` without
        enough deals."""
        interval = self.interval
        if interval is None:
            return "few"
        low, high = interval
        return "more" if low > 0 else "less" if high < 0 else "unclear"


def stage_lifts(deals: Iterable[DealStages], titles: dict[str, str], min_group: int = MIN_GROUP,
                confidence: float = CONFIDENCE) -> list[Lift]:
    """One ``Lift`` per stage in ``titles`` (script order), over the closed deals."""
    closed = [d for d in deals if d.closed]
    out = []
    for stage_id, title in titles.items():
        had = [d for d in closed if d.stages.get(stage_id)]
        lacked = [d for d in closed if stage_id in d.stages and not d.stages[stage_id]]
        out.append(Lift(stage_id=stage_id, title=title, with_deals=len(had),
                        with_won=sum(d.status == "won" for d in had), without_deals=len(lacked),
                        without_won=sum(d.status == "won" for d in lacked), min_group=min_group,
                        confidence=confidence))
    return out


class Conversion(BaseModel):
    """A manager's (or the team's) closed deals: how many won, the interval of that rate, the mean won value."""

    who: str
    closed: int
    won: int
    won_value: float = 0.0
    won_counted: int = 0                          # won deals in ``currency`` (the mean is over these)
    currency: str = ""
    confidence: float = CONFIDENCE

    @property
    def rate(self) -> Optional[float]:
        return self.won / self.closed if self.closed else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.won, self.closed, self.confidence)

    @property
    def mean_value(self) -> Optional[float]:
        return self.won_value / self.won_counted if self.won_counted else None


def conversions(deals: Iterable[DealStages], confidence: float = CONFIDENCE) -> dict[str, Conversion]:
    """Conversion per manager, and the team's under the key ``""``; a deal's value counts in its own currency
    (the most common one is named; deals in other currencies are left out of the mean)."""
    closed = [d for d in deals if d.closed]
    currency = max((d.currency for d in closed if d.currency), key=[d.currency for d in closed].count, default="")
    out: dict[str, Conversion] = {}
    for who in sorted({d.manager for d in closed}) + [""]:
        mine = [d for d in closed if d.manager == who or who == ""]
        won = [d for d in mine if d.status == "won"]
        counted = [d for d in won if d.currency in ("", currency)]
        out[who] = Conversion(who=who, closed=len(mine), won=len(won), currency=currency, confidence=confidence,
                              won_value=sum(d.value for d in counted), won_counted=len(counted))
    return out


class DealOutcome(BaseModel):
    """What Pipedrive says about one deal."""

    deal_id: int
    title: str = ""
    status: str = "open"                       # open | won | lost | deleted
    value: float = 0.0
    currency: str = ""
    won_time: Optional[str] = None
    lost_time: Optional[str] = None
    lost_reason: Optional[str] = None
    update_time: Optional[str] = None


def stored_outcomes(store: Store, account: Optional[str]) -> dict[int, DealOutcome]:
    """The synced deals of one Pipedrive company (None: of every company), by deal id."""
    rows = store.query("SELECT * FROM crm_deals WHERE ? IS NULL OR account = ?", (account, account))
    return {r["deal_id"]: DealOutcome(deal_id=r["deal_id"], title=r["title"], status=r["status"], value=r["value"],
                                      currency=r["currency"], won_time=r["won_time"], lost_time=r["lost_time"],
                                      lost_reason=r["lost_reason"], update_time=r["update_time"]) for r in rows}


def deal_stages(store: Store, account: Optional[str], stage_ids: list[str]) -> list[DealStages]:
    """Each synced deal with the script stages its connected calls had (any call), and whose calls they were;
    ``account`` None: every Pipedrive company the history holds deals of."""
    try:
        outcomes = stored_outcomes(store, account)
        by_call = {r["call_id"]: int(r["deal_id"]) for r in store.query(
            "SELECT call_id, deal_id FROM crm_pushes WHERE deal_id IS NOT NULL AND (? IS NULL OR account = ?)",
            (account, account))}
    except sqlite3.OperationalError:        # a history from before outcomes, opened read-only
        return []
    stages: dict[int, dict[str, bool]] = defaultdict(dict)
    managers: dict[int, str] = {}
    deal_calls = [c for c, d in by_call.items() if d in outcomes]
    records = (store.summaries(deal_calls, with_stages=True) if store.summarised
               else store.calls(with_transcripts=False))  # only the calls of synced deals are read
    for record in records:
        deal_id = by_call.get(record.call_id)
        if deal_id is None or deal_id not in outcomes or not record.result.connected:
            continue
        managers.setdefault(deal_id, record.manager)
        for stage in record.result.stages:
            if stage.id in stage_ids:
                stages[deal_id][stage.id] = stages[deal_id].get(stage.id, False) or stage.present
    return [DealStages(deal_id=d, status=o.status, value=o.value, currency=o.currency, manager=managers.get(d, ""),
                       stages=stages.get(d, {})) for d, o in sorted(outcomes.items()) if d in managers]


def manager_conversions(store: Store) -> dict[str, Conversion]:
    """Conversion of each manager's deals and the team's (key ``""``), from the synced outcomes; empty without any."""
    return conversions(deal_stages(store, None, []))
