"""Promotion readiness: is a newcomer ready for the general structure, is an experienced manager slipping.

``assess_readiness`` is pure logic over stored calls (``CallRecord``). ``readiness_by_manager`` and
``history_readiness`` decide, in one place, which level a manager is judged at (the roster's, else the level of
their latest call, else newcomer) and which calls count: ``compliance readiness``, the batch summary and the
reports all call them, so they cannot disagree.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Optional, Sequence

from pydantic import BaseModel, Field

from compliance.errors import ComplianceError
from compliance.history.outcomes import Conversion, manager_conversions
from compliance.messages import Message
from compliance.scoring.result import IN_BAND, CallRecord
from compliance.text.catalogue import say


class Readiness(BaseModel):
    """One manager's standing over the last ``window`` connected calls."""

    manager: str
    manager_name: str = ""
    level: str
    ready: Optional[bool] = None          # newcomers only; None: experienced, or good so far but too few calls
    window: int
    calls_considered: int = 0
    share_in_band: float = 0.0            # 0–1: calls within or above the level's band (``COUNTS_TOWARD``)
    mean_adherence: Optional[float] = None
    stage_presence: dict[str, float] = Field(default_factory=dict)  # required stage id → share 0–1
    weakest_stages: list[str] = Field(default_factory=list)
    calls_below: list[str] = Field(default_factory=list)            # call ids below the band
    reasons: list[str] = Field(default_factory=list)                # why, in Russian (the CLI)
    reason_codes: list[Message] = Field(default_factory=list)        # why, as codes (reports, any language)
    flagged_for_review: bool = False      # experienced managers below their band
    conversion: Optional[Conversion] = None       # the manager's closed deals (Pipedrive), when synced
    team_conversion: Optional[Conversion] = None  # the team's, to compare against
    counts: Optional[Message] = None      # which verdicts count toward the decision, in one sentence
    calls_awaiting_check: list[str] = Field(default_factory=list)  # call ids left out: flagged, not yet confirmed


def _chronological(records: list[CallRecord]) -> list[CallRecord]:
    return sorted(records, key=lambda r: (r.date or "", r.time or "", r.analysed_at or "", r.call_id))


def _stage_stats(calls: list[CallRecord]) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """Presence share, mean score and title of each required stage, over the calls where it applies."""
    applies: dict[str, int] = {}
    present: dict[str, int] = {}
    scores: dict[str, float] = {}
    titles: dict[str, str] = {}
    for rec in calls:
        for stage in rec.result.stages:
            if not stage.required or not stage.applies:
                continue
            titles.setdefault(stage.id, stage.title)
            applies[stage.id] = applies.get(stage.id, 0) + 1
            present[stage.id] = present.get(stage.id, 0) + int(stage.present)
            scores[stage.id] = scores.get(stage.id, 0.0) + stage.score
    presence = {sid: present[sid] / n for sid, n in applies.items()}
    mean_score = {sid: scores[sid] / n for sid, n in applies.items()}
    return presence, mean_score, titles


def _reason(out: Readiness, message: Message) -> None:
    out.reason_codes.append(message)
    out.reasons.append(message.text("ru"))


def assess_readiness(
    records: list[CallRecord],
    level: str,
    window: int = 20,
    min_share: float = 0.8,
    min_stage_presence: float = 0.9,
    *,
    manager: str | None = None,
    manager_name: str | None = None,
    min_calls: int | None = None,
    awaiting: Sequence[str] = (),
) -> Readiness:
    """Judge one manager over their last ``window`` connected calls.

    A newcomer is ready when at least ``min_share`` of those calls meet the band (verdict within or
    above) and every required stage is present in at least ``min_stage_presence`` of the calls where it
    applies; otherwise ``ready=False`` with the reasons. When the figures pass but there are fewer than
    ``min_calls`` (default: ``window``) connected calls, the answer is ``None`` ("not enough calls yet").
    An experienced manager gets ``ready=None`` and is flagged for review when fewer than ``min_share``
    of the calls meet the band or a required stage is missing too often.

    Args:
        records: the calls of ONE manager (any order; non-connected calls are ignored).
        level: the manager's current level (``newcomer`` / ``experienced``).
        awaiting: ids of more connected calls awaiting the lead's check (flagged, not acted on), oldest first,
            found by the store without reading them (``Store.awaiting_check``); listed after those of ``records``.

    Raises:
        ComplianceError: the records belong to more than one manager.
    """
    managers = {r.manager for r in records}
    if len(managers) > 1:
        raise ComplianceError(say("err.readiness.one_manager", managers=", ".join(sorted(managers))))
    first = records[0] if records else None
    out = Readiness(
        manager=manager or (first.manager if first else ""),
        manager_name=manager_name or (first.manager_name if first else ""),
        level=level,
        window=window,
        counts=Message(code=f"ready_counts_{level}") if level in ("newcomer", "experienced") else None,
    )
    connected = [r for r in _chronological(records) if r.result.connected]
    # a flagged call (speakers not separated, poor recognition…) counts only once a lead confirmed or overrode it
    out.calls_awaiting_check = [r.call_id for r in connected if r.awaiting_review] + list(awaiting)
    calls = [r for r in connected if not r.awaiting_review][-window:] if window > 0 else []
    out.calls_considered = len(calls)
    if not calls:
        _reason(out, Message(code="ready_no_calls"))
        return out
    in_band = [r for r in calls if r.result.verdict in IN_BAND]
    out.share_in_band = len(in_band) / len(calls)
    adherences = [r.result.adherence for r in calls if r.result.adherence is not None]
    out.mean_adherence = sum(adherences) / len(adherences) if adherences else None
    out.calls_below = [r.call_id for r in calls if r.result.verdict == "below"]
    out.stage_presence, mean_score, titles = _stage_stats(calls)
    # A stage said in every call is nobody's weak stage, however its wording scored.
    lacking = [s for s in out.stage_presence if out.stage_presence[s] < 1.0]
    out.weakest_stages = sorted(lacking, key=lambda s: (out.stage_presence[s], mean_score[s]))[:3]

    weak = [s for s in out.weakest_stages if out.stage_presence[s] < min_stage_presence]
    weak += [s for s, p in out.stage_presence.items() if p < min_stage_presence and s not in weak]
    band_ok = out.share_in_band >= min_share
    if not band_ok:
        _reason(out, Message(code="ready_band", params={
            "share": out.share_in_band * 100, "need": min_share * 100, "below": len(out.calls_below),
            "calls": len(calls)}))
    for sid in weak:
        name = f"«{titles[sid]}» ({sid})" if titles.get(sid) else f"«{sid}»"
        _reason(out, Message(code="ready_stage", params={
            "stage": name, "share": out.stage_presence[sid] * 100, "need": min_stage_presence * 100}))
    if level == "newcomer":
        needed = window if min_calls is None else min_calls
        if not band_ok or weak:
            out.ready = False
        elif len(calls) < needed:
            # The figures look good, but too few calls to promote on.
            _reason(out, Message(code="ready_few_calls", params={"calls": len(calls), "needed": needed}))
            out.ready = None
        else:
            out.ready = True
    else:
        out.flagged_for_review = not band_ok or bool(weak)
    return out


def manager_level(key: str, records: Sequence[CallRecord], team: Any = None) -> str:
    """The level a manager is judged at: the roster's, else their latest call's, else newcomer."""
    latest = _chronological(list(records))[-1:] if records else []
    return _level(key, team, latest[0].level if latest else None)


def _level(key: str, team: Any, latest: Optional[str]) -> str:
    roster = team.get(key) if team is not None else None
    if roster is not None:
        return roster.level
    return latest or "newcomer"


def readiness_by_manager(by_manager: Mapping[str, Sequence[CallRecord]], team: Any = None,
                         **kwargs: Any) -> dict[str, Readiness]:
    """Each manager's readiness at their level (``manager_level``), over their calls at that level.

    Args:
        by_manager: manager key → that manager's stored calls (any levels).
        team: the roster (``history.roster.Team``), or None.
        kwargs: ``window``, ``min_share``, ``min_stage_presence`` for :func:`assess_readiness`.
    """
    out = {}
    for key in sorted(by_manager):
        records = list(by_manager[key])
        level = manager_level(key, records, team)
        roster = team.get(key) if team is not None else None
        out[key] = assess_readiness([r for r in records if r.level == level], level, manager=key,
                                    manager_name=(roster.name if roster else None) or None, **kwargs)
    return out


def history_readiness(store: Any, team: Any = None, managers: Optional[Iterable[str]] = None,
                      **kwargs: Any) -> dict[str, Readiness]:
    """Readiness from the history: the given managers, else everyone in the roster, the store and its calls."""
    if managers is None:
        keys = {m.id for m in store.managers()} | set(team.managers if team is not None else ()) | \
            set(store.manager_keys())
    else:
        keys = set(managers)
    if store.summarised:
        out = {key: _stored_readiness(store, key, team, **kwargs) for key in sorted(keys)}
    else:  # an older history opened read-only: every call read
        out = readiness_by_manager({k: store.calls(manager=k, with_transcripts=False) for k in keys}, team, **kwargs)
    conv = manager_conversions(store)
    for key, readiness in out.items():
        readiness.conversion, readiness.team_conversion = conv.get(key), conv.get("")
    return out


def _stored_readiness(store: Any, key: str, team: Any, **kwargs: Any) -> Readiness:
    """One manager's readiness from what the store picks for it (``Store.readiness_calls``: the newest calls of
    the window and the flagged ones waiting, not the whole history), judged by :func:`assess_readiness`."""
    latest = store.latest_call(key)
    level = _level(key, team, latest["level"] if latest else None)
    roster = team.get(key) if team is not None else None
    records = store.readiness_calls(key, level, kwargs.get("window", 20))
    return assess_readiness(records, level, manager=key, manager_name=(roster.name if roster else None) or None,
                            awaiting=store.awaiting_check(key, level), **kwargs)
