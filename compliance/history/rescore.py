"""Re-scoring the history: every stored call scored again from its stored transcript, after a script edit.

Nothing is transcribed and no folder is walked: the transcripts and their sentence embeddings are in the store,
so only the script's new lines are embedded. A call is re-scored with the given script of the same id (an
edited script keeps its id), else with the newest stored version of its script.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Optional, Sequence

from pydantic import BaseModel, Field

from compliance.history.decisions import SWAP, Decision, load_decisions, orphaned
from compliance.history.roster import Team
from compliance.history.store import Store
from compliance.scoring.embeddings import MODEL_ID, load_embedder, transcript_sentences
from compliance.scoring.result import CallRecord
from compliance.scoring.score import score_call
from compliance.scoring.script import BandTable, SalesScript
from compliance.scoring.transcript import Transcript, swap_parties
from compliance.text.catalogue import say


class RescoreSummary(BaseModel):
    """What a re-score did."""

    rescored: int = 0
    changed: int = 0                    # calls whose adherence or stage presence changed
    skipped: list[str] = Field(default_factory=list)  # call files left as they were, with why
    scripts: dict[str, str] = Field(default_factory=dict)  # script id → content hash used
    orphaned: list[str] = Field(default_factory=list)  # the lead's decisions whose stage left the script
    elapsed: float = 0.0


def _bands(record: CallRecord, team: Optional[Team], keep: bool) -> Optional[BandTable]:
    """The bands a re-scored call is judged by (``SalesScript.band`` decides among them)."""
    if keep:
        low, high = (record.machine or record.result).band
        return {record.result.script_id: {record.level: {"min": low, "max": high}}}
    return team.targets_for(record.manager).model_dump()["bands"] if team is not None else None


def _as_decided(transcript: Transcript, decisions: list[Decision]) -> Transcript:
    """The transcript with the lead's swap of the parties in place (or taken back), when it is not yet."""
    if transcript.parties is None:
        return transcript
    wanted = any(d.present for d in decisions if d.stage_id == SWAP)
    return swap_parties(transcript) if wanted != transcript.parties.swapped else transcript


def _within(date: Optional[str], since: Optional[dt.date], until: Optional[dt.date], manager: Optional[str],
            who: str) -> bool:
    day = date or ""
    return ((since is None or day >= str(since)) and (until is None or day <= str(until))
            and (manager is None or who == manager))


def rescore_history(store: Store, scripts: Sequence[SalesScript] = (), *, since: Optional[dt.date] = None,
                    until: Optional[dt.date] = None, manager: Optional[str] = None,
                    call_id: Optional[str] = None, team: Optional[Team] = None,
                    keep_bands: bool = False) -> RescoreSummary:
    """Score the stored calls again (those of ``manager`` and between the dates, when given).

    Args:
        store: the history, opened for writing.
        scripts: edited scripts; a call is re-scored with the one of its script's id.
        since, until, manager, call_id: which calls.
        team: the roster whose ``targets.bands`` (the manager's own, else the team's) judge the calls; without
            it, the scripts' own ``levels:``.
        keep_bands: judge each call by the band it was stored with (one call re-scored for another reason).
    """
    began = time.monotonic()
    by_id = {sid: SalesScript.model_validate_json(js) for sid, js in store.latest_scripts().items()}
    by_id.update({s.id: s for s in scripts})
    out = RescoreSummary(scripts={sid: s.content_hash() for sid, s in by_id.items()})
    embedder = load_embedder()
    for edited in scripts:
        store.save_script(edited)
    decisions = load_decisions(store.connection)
    # a chunk of calls at a time (saving as it goes), or the one call asked for
    chosen = store.records([call_id]) if call_id is not None else store.iter_calls(since, until, manager)
    for record in chosen:
        if call_id is not None and not _within(record.date, since, until, manager, record.manager):
            continue
        script = by_id.get(record.result.script_id)
        meta = store.call_meta(record.call_id)
        if record.transcript is None or script is None or meta is None:
            why = say("err.rescore.no_transcript") if record.transcript is None \
                else say("err.rescore.no_script", script=repr(record.result.script_id))
            out.skipped.append(f"{record.file}: {why}")
            continue
        sentences = transcript_sentences(record.transcript.segments)
        cached = set(embedder.known(sentences)) if embedder is not None else set()
        if embedder is not None:
            embedder.remember(store.load_embeddings(MODEL_ID, sentences))
        before = record.machine or record.result  # what the machine said before; the lead's decisions stay apart
        transcript = _as_decided(record.transcript, decisions.get(record.call_id, []))
        result = score_call(transcript, script, record.level, bands=_bands(record, team, keep_bands))
        result.file, result.manager = before.file, before.manager
        out.changed += int(result.adherence != before.adherence
                           or [s.present for s in result.stages] != [s.present for s in before.stages])
        store.save_call(record.model_copy(update={"result": result, "transcript": transcript}), meta,
                        outcome="rescored")
        out.orphaned += [f"{record.file}: {d.where} ({d.by}, {d.at})"
                         for d in orphaned(result, decisions.get(record.call_id, []), script.line_ids())]
        if embedder is not None:
            store.save_embeddings(MODEL_ID, embedder.known(sentences))
            # this call's own sentences leave the cache (the store keeps them): a year re-scored holds one call's
            embedder.forget([t for t in sentences if t not in cached])
        out.rescored += 1
    out.elapsed = round(time.monotonic() - began, 2)
    return out
