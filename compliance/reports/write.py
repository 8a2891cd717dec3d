"""Writing a report set: file names, recordings, and one atomic swap of the whole folder."""
from __future__ import annotations

import ctypes.util
import datetime as dt
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

import jinja2

from compliance.errors import ComplianceError, ReportError
from compliance.history.readiness import Readiness, history_readiness, readiness_by_manager
from compliance.history.roster import Team
from compliance.history.schema import Failure as StoredFailure
from compliance.history.store import Store
from compliance.history.summaries import CHUNK
from compliance.resources import resource_dir
from compliance.scoring.result import CallRecord
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason

from .common import ScriptSet, _script_map
from .render import make_environment
from .stream import Listed, chronological_key, write_calls

MARKER = ".compliance-report"     # marks a folder this module may replace


def _readiness_map(readiness: Optional[Mapping[str, Readiness]],
                   by_manager: Mapping[str, list[CallRecord]]) -> dict[str, Readiness]:
    return readiness_by_manager(by_manager) if readiness is None else dict(readiness)



def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = renameat2(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    return rc == 0


def _check_target(out_dir: Path) -> None:
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise ReportError(say("err.reports.not_folder", out=out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ReportError(say("err.reports.not_empty", out=out_dir))


def _replace(tmp: Path, out_dir: Path) -> None:
    """Put the finished set at ``out_dir``: atomically where the OS can swap folders."""
    if not out_dir.exists():
        os.rename(tmp, out_dir)
        return
    if _exchange(tmp, out_dir):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the old set
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
    os.rename(out_dir, old / "set")
    os.rename(tmp, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _clean_leftovers(out_dir: Path) -> None:
    """Remove temporary folders an interrupted earlier run left beside ``out_dir``."""
    for prefix in (f".{out_dir.name}.tmp-", f".{out_dir.name}.old-"):
        for path in out_dir.parent.glob(prefix + "*"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)


def write_reports(out_dir: str | Path, records: Sequence[CallRecord], *,
                  readiness: Optional[Mapping[str, Readiness]] = None, failures: Iterable[StoredFailure] = (),
                  scripts: ScriptSet = None, lang: str = "ru",
                  template_dir: str | Path | None = None, as_of: Optional[dt.date] = None,
                  generated_at: Optional[str] = None, copy_audio: bool = False, team: Optional[Team] = None,
                  transcript_of: Optional[Callable[[str], Optional[Transcript]]] = None) -> Path:
    """Write the whole report set (team overview, manager pages, call pages) to ``out_dir``.

    The set is rendered into a temporary sibling folder and then swapped in, so an interrupted run
    leaves the previous set (or nothing), never half of one. ``out_dir`` must be new, empty, or an
    earlier report set: it is replaced as a whole.

    Args:
        records: the calls to report on (any managers, any order).
        readiness: manager key → ``Readiness``; None computes it (``history.readiness``); ``{}`` shows none.
        failures: the last batch's failures (as the store keeps them).
        scripts: the ``SalesScript``\\ s the calls were scored with (stage titles and order), by id or as a list.
        lang: ``ru`` or ``en``.
        template_dir: a folder whose templates override the packaged ones.
        as_of: the day "today" means (default: the latest call's date).
        generated_at: the time shown in the footer (default: now).
        copy_audio: copy each recording into its manager's folder (``audio/``), so that a folder sent to
            the manager alone still plays the calls.
        transcript_of: call id → its transcript, for records given without one: each is read for its call
            page only, so the set's transcripts are never all in memory (``write_reports_from_store``).

    Returns:
        The path of the team overview, ``out_dir/index.html``.

    Raises:
        ReportError: bad options, a template error, or the folder cannot be written.
    """
    records = sorted(records, key=chronological_key)
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    listed = [Listed(r.call_id, r.manager, r.date, r.time) for r in records]
    readiness_map = _readiness_map(readiness, by_manager)
    return _write_set(out_dir, lambda root, env: write_calls(
        root, listed, records, readiness=readiness_map, failures=failures, scripts=_script_map(scripts), env=env,
        as_of=as_of, copy_audio=copy_audio, team=team, transcript_of=transcript_of),
        lang=lang, template_dir=template_dir, generated_at=generated_at)


def _write_set(out_dir: str | Path, write: Callable[[Path, jinja2.Environment], None], *, lang: str = "ru",
               template_dir: str | Path | None = None, generated_at: Optional[str] = None) -> Path:
    """Render a set with ``write`` into a temporary sibling of ``out_dir``, then swap it in."""
    out_dir = Path(out_dir).absolute()
    env = make_environment(lang, template_dir, generated_at=generated_at)
    _check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(out_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise ReportError(say("err.reports.cannot_write", out=out_dir, why=os_reason(exc))) from None
    try:
        write(tmp, env)
        (tmp / MARKER).write_text("call-compliance report set; this folder is replaced on every run\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        _replace(tmp, out_dir)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ReportError(say("err.reports.cannot_write", out=out_dir, why=os_reason(exc))) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir / "index.html"


def write_reports_from_store(store: Store, out_dir: str | Path, since: str | dt.date | None = None,
                             until: str | dt.date | None = None, manager: Optional[str] = None, *,
                             team: Optional[Team] = None, **options: Any) -> Path:
    """Write reports from history: the calls in [since, until] (inclusive ISO dates), optionally of one manager.

    Readiness is judged on each manager's whole history at their roster level (``team``, a
    ``compliance.history.roster.Team``), the failures shown are those of the store's last batch, and stage titles
    come from the bundled scripts, unless ``options`` (passed on to :func:`write_reports`) say otherwise.

    Raises:
        ReportError: no calls match; or what :func:`write_reports` raises.
    """
    calls = [Listed(cid, sys.intern(key), sys.intern(day) if day else day, clock)   # a name, a day: one copy each
             for cid, key, day, clock in store.chronological_calls(since, until, manager)]
    if not calls:
        what = say("err.reports.of_manager", manager=repr(manager)) if manager else ""
        when = say("err.reports.between", since=since or "…", until=until or "…") if (since or until) else ""
        raise ReportError(say("err.reports.no_calls", what=what, when=when))
    readiness = options.pop("readiness", None)
    if readiness is None:
        readiness = history_readiness(store, team, {c.manager for c in calls})
    failures = options.pop("failures", None)
    scripts = options.pop("scripts", None)
    transcript_of = options.pop("transcript_of", store.stored_transcript)
    as_of, copy_audio = options.pop("as_of", None), options.pop("copy_audio", False)
    ids = [c.call_id for c in calls]
    # The calls' records a chunk at a time (no transcripts: each is read for its call page only).
    records = (r for start in range(0, len(ids), CHUNK)
               for r in store.records(ids[start:start + CHUNK], with_transcripts=False))
    return _write_set(out_dir, lambda root, env: write_calls(
        root, calls, records, readiness=readiness,
        failures=_last_failures(store, manager) if failures is None else failures,
        scripts=_script_map(bundled_scripts() if scripts is None else scripts), env=env, as_of=as_of,
        copy_audio=copy_audio, team=team, transcript_of=transcript_of), **options)


def _last_failures(store: Store, manager: Optional[str] = None) -> list[StoredFailure]:
    """The last batch's failures; for a set of one manager's calls only the files in that manager's folder, by name.

    A one-manager set goes to the manager: it shows neither the team's other files nor the folders of the lead's
    machine (the path rule is ``compliance.files.shown_name``).
    """
    from compliance.files import shown_name
    from compliance.history.roster import normalize_manager_key

    last = store.last_batch()
    failures = store.failures(last.id) if last is not None else []
    if manager is None:
        return failures
    key = normalize_manager_key(manager)
    return [f.model_copy(update={"file": shown_name(f.file)}) for f in failures
            if key in {normalize_manager_key(part) for part in Path(f.file.replace("\\", "/")).parts[:-1]}]


def bundled_scripts() -> dict[str, SalesScript]:
    """The scripts shipped in ``scripts_yaml/`` (for stage titles), skipping any that do not load."""
    from compliance.scoring.script_file import load_script

    out: dict[str, SalesScript] = {}
    for path in sorted(resource_dir("scripts_yaml").glob("*.yaml")):
        try:
            script = load_script(path)
        except ComplianceError:
            continue
        out[script.id] = script
    return out
