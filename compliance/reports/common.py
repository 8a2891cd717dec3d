"""Small helpers the page builders share: means, dates, titles and stage order."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Mapping, Optional, Sequence, Union

from compliance.scoring.result import (
    CallRecord,
    CallResult,
    StageResult,
    band_verdict,
    share_in_band,
)
from compliance.scoring.script import SalesScript

LINE_GOOD, LINE_FAIR = 80.0, 60.0  # line similarity grades


_FOLD = str.maketrans({"ё": "е", "Ё": "е"})


def _fold(text: str) -> str:
    """Lowercase with ё = е, keeping the length so offsets stay valid."""
    folded = text.translate(_FOLD).lower()
    return folded if len(folded) == len(text) else text.translate(_FOLD)


def _mean(values: Iterable[Optional[float]]) -> Optional[float]:
    vals = [v for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _date(value: Optional[str]) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(value[:10]) if value else None
    except ValueError:
        return None


def _chronological(records: Iterable[CallRecord]) -> list[CallRecord]:
    return sorted(records, key=lambda r: (r.date or "", r.time or "", r.call_id))


# The scripts calls were scored with: one, a list, or by id (for stage titles and order).
ScriptSet = Union[SalesScript, Mapping[str, SalesScript], Iterable[SalesScript], None]


def _script_map(scripts: ScriptSet) -> dict[str, SalesScript]:
    if scripts is None:
        return {}
    if isinstance(scripts, SalesScript):
        return {scripts.id: scripts}
    if isinstance(scripts, Mapping):
        return {s.id: s for s in scripts.values()}
    return {s.id: s for s in scripts}


def _stage_titles(result: CallResult, script: Optional[SalesScript]) -> dict[str, str]:
    titles = {s.id: (s.title or s.id) for s in result.stages}
    if script is not None:
        titles.update({s.id: (s.title or s.id) for s in script.stages})
    return titles


def _ordered_stages(result: CallResult, script: Optional[SalesScript]) -> list[StageResult]:
    """The result's stages in the script's order (unknown ones keep their place at the end)."""
    if script is None:
        return list(result.stages)
    rank = {s.id: i for i, s in enumerate(script.stages)}
    return sorted(result.stages, key=lambda s: rank.get(s.id, len(rank)))


def _verdict_of(adherence: Optional[float], band: tuple[float, float]) -> Optional[str]:
    if adherence is None:
        return None
    return band_verdict(adherence, band)


def _connected(records: Iterable[CallRecord]) -> list[CallRecord]:
    return [r for r in records if r.result.connected]


def _share_in_band(records: Sequence[CallRecord]) -> Optional[float]:
    return share_in_band(r.result.verdict for r in records)
