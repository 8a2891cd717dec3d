"""What the manager and team pages add up, fed one call at a time: a year of calls never needs to be in memory.

``Tally`` keeps the stage and line rates, forbidden phrases and stage titles of the calls fed to it; ``Digest``
keeps the few values of a call that the period figures and charts read (``charts``, ``aggregate._period``), in a
few hundred bytes instead of a full record's stages, lines and evidence. The page builders take either full
records or digests for those figures: both have the same attributes.
"""
from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Mapping, Optional

from compliance.scoring.result import CallRecord
from compliance.scoring.script import SalesScript

from .common import _stage_titles
from .views import LineRate, PhraseCount, StageRate


@dataclass(slots=True)
class Outcome:
    """The part of a call's result the period figures and charts read."""

    connected: bool
    adherence: Optional[float]
    structure: Optional[float]
    verdict: Optional[str]
    channel: str
    meaning_checked: bool
    band: tuple[float, float]


@dataclass(slots=True)
class Digest:
    """A call as the period figures, charts and the team's rows read it (``Digest.of(record)``)."""

    call_id: str
    date: Optional[str]
    time: Optional[str]
    manager: str
    manager_name: str
    level: Optional[str]
    result: Outcome

    @classmethod
    def of(cls, record: CallRecord) -> "Digest":
        res = record.result
        return cls(record.call_id, _shared(record.date), record.time, sys.intern(record.manager),
                   sys.intern(record.manager_name), _shared(record.level),
                   Outcome(res.connected, res.adherence, res.structure, res.verdict, sys.intern(res.channel),
                           res.meaning_checked, (float(res.band[0]), float(res.band[1]))))


def _shared(value: Optional[str]) -> Optional[str]:
    """One copy of a value that a year of calls repeats (a day, a level): each read makes a new string."""
    return sys.intern(value) if value is not None else None


_Key = tuple[str, str]
_LineKey = tuple[str, str, int]


class Tally:
    """Stage hit rates, line similarities, forbidden phrases and stage titles of the calls ``add``-ed, in the order
    fed (the first call that shows a stage gives its title and place)."""

    def __init__(self, scripts: Mapping[str, SalesScript]) -> None:
        self.scripts = scripts
        self.applicable: Counter = Counter()
        self.present: Counter = Counter()
        self.scores: dict[_Key, float] = defaultdict(float)
        self.info: dict[_Key, tuple[str, bool, str]] = {}
        self.order: dict[_Key, tuple[int, int]] = {}
        self.script_rank: dict[str, int] = {}
        self.sums: dict[_LineKey, list[float]] = {}   # similarity summed, in the order fed; how many
        self.texts: dict[_LineKey, Counter] = defaultdict(Counter)
        self.line_titles: dict[_LineKey, tuple[str, str]] = {}
        self.phrase_count: Counter = Counter()
        self.phrase_calls: Counter = Counter()
        self.stage_titles: dict[str, str] = {}

    def add(self, rec: CallRecord) -> None:
        res = rec.result
        for stage in res.stages:
            self.stage_titles.setdefault(stage.id, stage.title or stage.id)
        phrases = [hit.phrase for hit in res.charged_forbidden]
        self.phrase_count.update(phrases)
        self.phrase_calls.update(set(phrases))
        if res.connected:
            self._add_stages(rec)

    def _add_stages(self, rec: CallRecord) -> None:
        res = rec.result
        script = self.scripts.get(res.script_id)
        titles = _stage_titles(res, script)
        script_title = (script.title if script else res.script_title) or res.script_id
        self.script_rank.setdefault(res.script_id, len(self.script_rank))
        rank = {s.id: i for i, s in enumerate(script.stages)} if script else {}
        for n, stage in enumerate(res.stages):
            key = (res.script_id, stage.id)
            self.info.setdefault(key, (titles.get(stage.id, stage.id), stage.required, script_title))
            self.order.setdefault(key, (self.script_rank[res.script_id], rank.get(stage.id, 1000 + n)))
            if stage.applies:
                self.applicable[key] += 1
                self.present[key] += int(stage.present)
                self.scores[key] += stage.score
            if not (stage.required and stage.applies):
                continue
            for i, line in enumerate(stage.lines):
                line_key = (res.script_id, stage.id, i)
                total = self.sums.setdefault(line_key, [0.0, 0.0])
                total[0] += line.similarity
                total[1] += 1
                self.texts[line_key][line.text] += 1
                self.line_titles.setdefault(line_key, (titles.get(stage.id, stage.id), script_title))

    def stage_rates(self) -> list[StageRate]:
        """Hit rate of each stage over the connected calls where it applies, in script order."""
        rates = []
        for key in sorted(self.applicable, key=lambda k: self.order[k]):
            title, required, script_title = self.info[key]
            n = self.applicable[key]
            rates.append(StageRate(id=key[1], title=title, script_title=script_title, required=required,
                                   applicable=n, present=self.present[key], rate=100.0 * self.present[key] / n,
                                   mean_score=self.scores[key] / n))
        return rates

    def line_rates(self) -> list[LineRate]:
        """Mean similarity of each line of each required stage, over the calls where the stage applies."""
        out = []
        for key, (total, count) in self.sums.items():
            script = self.scripts.get(key[0])
            script_stage = next((s for s in script.stages if s.id == key[1]), None) if script else None
            if script_stage is not None and key[2] < len(script_stage.lines):
                text = " / ".join(script_stage.alternatives()[key[2]])
            else:
                text = self.texts[key].most_common(1)[0][0]
            out.append(LineRate(stage_title=self.line_titles[key][0], script_title=self.line_titles[key][1],
                                text=text, calls=int(count), mean_similarity=total / count))
        return out

    def phrases(self) -> list[PhraseCount]:
        return [PhraseCount(phrase=p, count=n, calls=self.phrase_calls[p])
                for p, n in sorted(self.phrase_count.items(), key=lambda kv: (-kv[1], kv[0]))]

    def titles(self) -> dict[str, str]:
        """Stage id → title: as the calls showed them, the scripts' own titles first."""
        titles = dict(self.stage_titles)
        for script in self.scripts.values():
            titles.update({s.id: s.title or s.id for s in script.stages})
        return titles
