"""The HTML report set a batch writes over the whole history."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from compliance.errors import ComplianceError
from compliance.history.readiness import history_readiness
from compliance.history.roster import Team
from compliance.history.store import Store
from compliance.scoring.script import SalesScript

from .models import BatchSummary


def write_batch_reports(store: Store, out_dir: Path, summary: BatchSummary, *, team: Optional[Team] = None,
                        scripts: dict[str, SalesScript] | None = None, lang: str = "ru",
                        copy_audio: bool = False) -> Optional[str]:
    """Write the HTML report set for the whole history after a batch; returns the index path."""
    try:
        from compliance.reports import write_reports
    except ImportError:
        summary.notes.append("reports: compliance.reports is not available; no HTML written")
        return None
    records = store.calls(with_transcripts=False)   # each transcript is read for its call page only
    if not records:
        summary.notes.append("reports: no calls in the history yet; no HTML written")
        return None
    readiness = history_readiness(store, team)
    try:
        index = write_reports(out_dir, records, readiness=readiness, failures=store.failures(summary.batch_id),
                              scripts=scripts, lang=lang, copy_audio=copy_audio, team=team,
                              transcript_of=store.stored_transcript)
    except ComplianceError as exc:
        summary.reports_error = str(exc)
        return None
    return str(index)
