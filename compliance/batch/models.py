"""What a batch takes and gives: its options, progress, per-file outcomes, the summary."""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import IO, Any, Callable, Iterator, Optional

from pydantic import BaseModel, Field, PrivateAttr

from compliance.history.daily import DAILY_TARGET
from compliance.history.store import Failure
from compliance.scoring.result import Outcome, band_verdict

EXIT_SOME_FAILED = 3  # the batch finished, but some files could not be analysed


class BatchOptions(BaseModel):
    """Everything a batch run needs; the CLI fills it from its options."""

    folder: Path
    db: Path = Path("compliance.db")
    scripts: list[Path] = Field(default_factory=list)      # none: the bundled default script
    team: Optional[Path] = None
    manifest: Optional[Path] = None
    patterns: Optional[list[str]] = None                  # None: attribution.DEFAULT_PATTERNS
    default_date: Optional[str] = None                    # for files with no date anywhere (explicit only)
    workers: Optional[int] = None                         # None: one per core, at most one per recording
    transcribe: dict[str, Any] = Field(default_factory=dict)  # TranscribeOptions fields given on the CLI
    cache_dir: Optional[Path] = None                      # transcript cache (None: transcribe's default)
    out_dir: Optional[Path] = None                        # reports folder (skipped from the walk)
    lang: str = "ru"
    copy_audio: bool = False                              # reports: recordings copied into managers' folders
    retry_failed: bool = False                            # try again files that failed before with this content
    cluster: Optional[str] = None                         # tcp://HOST:PORT (a Dask scheduler) or local:N


class BatchProgress(BaseModel):
    """Sent after every finished file (and once at the start with done = 0)."""

    done: int
    total: int
    audio_done: float = 0.0        # seconds of audio transcribed so far
    audio_total: float = 0.0       # seconds of audio to transcribe in this run
    elapsed: float = 0.0
    file: Optional[str] = None
    outcome: Optional[Outcome] = None
    planned: bool = False          # the files are sorted into work: what comes next is loading the models, then work

    @property
    def eta(self) -> Optional[float]:
        """Seconds left, from the audio rate (or the file rate when there is no audio)."""
        if self.done == 0 or self.elapsed <= 0:
            return None
        if self.audio_total > 0:  # transcription dominates: judge by audio, once some is done
            if self.audio_done <= 0:
                return None
            return self.elapsed * (self.audio_total - self.audio_done) / self.audio_done
        return self.elapsed * (self.total - self.done) / self.done


class FileOutcome(BaseModel):
    """What happened to one file."""

    file: str
    outcome: Outcome
    call_id: Optional[str] = None
    manager: Optional[str] = None
    date: Optional[str] = None
    level: Optional[str] = None
    unknown_manager: bool = False
    script_id: Optional[str] = None
    script_choice: Optional[str] = None
    connected: Optional[bool] = None
    adherence: Optional[float] = None
    verdict: Optional[str] = None
    reason: Optional[str] = None


class DayKpi(BaseModel):
    """Contacts of one manager on one day (connected calls and chats the client replied in) against the daily
    target."""

    manager: str
    manager_name: str = ""
    date: str
    calls: int
    connected: int
    chats: int = 0
    chats_replied: int = 0
    target: tuple[int, int] = DAILY_TARGET

    @property
    def contacts(self) -> int:
        return self.connected + self.chats_replied

    @property
    def status(self) -> str:
        return str(band_verdict(self.contacts, self.target))


class BatchSummary(BaseModel):
    """The result of a batch: counts, every file's outcome, failures, unknown managers, daily KPI.

    Each file's outcome is written, as it comes, to an anonymous temporary file (gone with the process, whatever
    happens): ``files`` and ``iter_files()`` read them back, ``write_json`` streams them into the summary. The
    failures are kept in memory as well: the batch lists them at its end.
    """

    batch_id: int
    folder: str
    db: str
    total: int = 0
    analysed: int = 0               # new calls transcribed/read and scored
    rescored: int = 0               # stored calls scored again (script, level or attribution changed)
    skipped: int = 0                # unchanged
    duplicates: int = 0             # the same content as another file in this folder
    not_connected: int = 0          # among analysed + rescored
    failed: int = 0                 # failures + unattributed
    audio_seconds: float = 0.0
    elapsed: float = 0.0
    failures: list[Failure] = Field(default_factory=list)
    unknown_managers: list[str] = Field(default_factory=list)
    kpi: list[DayKpi] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    reports: Optional[str] = None   # path of the report index, when written
    reports_error: Optional[str] = None
    interrupted: bool = False
    _outcomes: Optional[IO[bytes]] = PrivateAttr(default=None)

    def add_file(self, outcome: FileOutcome) -> None:
        """One file's outcome, kept on disk (one JSON line) rather than in memory."""
        if self._outcomes is None:
            self._outcomes = tempfile.TemporaryFile("w+b")
        self._outcomes.seek(0, 2)
        self._outcomes.write(outcome.model_dump_json().encode("utf-8") + b"\n")

    def iter_files(self) -> Iterator[FileOutcome]:
        """Every file's outcome, in the order they came, read back from disk."""
        if self._outcomes is None:
            return
        self._outcomes.flush()
        offset = 0
        while True:  # by offset: adding an outcome meanwhile (it seeks to the end) does not lose the place
            self._outcomes.seek(offset)
            line = self._outcomes.readline()
            if not line:
                return
            offset = self._outcomes.tell()
            yield FileOutcome.model_validate_json(line)

    @property
    def files(self) -> list[FileOutcome]:
        """Every file's outcome (all read into memory: for a few files; ``iter_files`` streams them)."""
        return list(self.iter_files())

    def write_json(self, out: Callable[[str], Any]) -> None:
        """The whole summary as JSON (``files`` included), written a file at a time through ``out``."""
        head = json.dumps(self.model_dump(mode="json"), ensure_ascii=False, indent=1)
        out('{\n "files": [')
        for i, outcome in enumerate(self.iter_files()):
            out(("," if i else "") + "\n  " + json.dumps(outcome.model_dump(mode="json"), ensure_ascii=False))
        out("\n ]" + ("," + head[1:] if head != "{}" else "\n}") + "\n")

    @property
    def exit_code(self) -> int:
        return EXIT_SOME_FAILED if self.failed or self.reports_error else 0


ProgressCallback = Callable[[BatchProgress], None]
