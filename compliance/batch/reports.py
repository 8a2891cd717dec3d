"""The HTML report set a batch writes over the whole history."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from compliance.errors import ComplianceError
from compliance.history.readiness import history_readiness
from compliance.history.roster import Team
from compliance.history.store import Store
from compliance.scoring.script import SalesScript
from compliance.text.catalogue import say

from .models import BatchSummary


def write_batch_reports(store: Store, out_dir: Path, summary: BatchSummary, *, team: Optional[Team] = None,
                        scripts: dict[str, SalesScript] | None = None, lang: str = "ru",
                        copy_audio: bool = False) -> Optional[str]:
    """Write the HTML report set for the whole history after a batch; returns the index path."""
    try:
        from compliance.reports import write_reports_from_store
    except ImportError:
        summary.notes.append(say("err.batch.reports_missing"))
        return None
    if not store.query("SELECT 1 FROM calls LIMIT 1"):
        summary.notes.append(say("err.batch.no_calls_for_reports"))
        return None
    try:  # the whole history, read a chunk at a time (each transcript for its call page only)
        index = write_reports_from_store(store, out_dir, team=team, readiness=history_readiness(store, team),
                                         failures=store.failures(summary.batch_id), scripts=scripts or {},
                                         lang=lang, copy_audio=copy_audio)
    except ComplianceError as exc:
        summary.reports_error = str(exc)
        return None
    return str(index)
