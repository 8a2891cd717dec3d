"""Writing a report set: file names, recordings, and one atomic swap of the whole folder."""
from __future__ import annotations

import ctypes.util
import datetime as dt
import os
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence
from urllib.parse import quote

import jinja2

from compliance.errors import ComplianceError, ReportError
from compliance.files import os_reason
from compliance.history.readiness import Readiness, history_readiness, readiness_by_manager
from compliance.history.roster import Targets, Team
from compliance.history.schema import Failure as StoredFailure
from compliance.history.store import Store
from compliance.resources import resource_dir
from compliance.scoring.result import CallRecord
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Transcript
from compliance.text.catalogue import say
from compliance.text.slug import slugify, unique_slugs

from .aggregate import build_manager_page, build_team_page
from .call_page import build_call_page
from .common import ScriptSet, _chronological, _script_map
from .render import (
    make_environment,
    render_call_page,
    render_manager_page,
    render_team_page,
)

MARKER = ".compliance-report"     # marks a folder this module may replace


def _call_slugs(records: Sequence[CallRecord]) -> dict[str, str]:
    """call id → page file stem: ``2026-11-27_10-15-02`` (date and time), unique within the set."""
    stems: dict[str, str] = {}
    taken: set[str] = set()
    for r in _chronological(records):
        base = slugify("_".join(p for p in (r.date, (r.time or "").replace(":", "-")) if p), "call")
        if base == "call":
            base = slugify(f"call-{r.call_id[:12]}", "call")
        stem, n = base, 1
        while stem in taken:
            n += 1
            stem = f"{base}-{n}"
        taken.add(stem)
        stems[r.call_id] = stem
    return stems


def _readiness_map(readiness: Optional[Mapping[str, Readiness]],
                   by_manager: Mapping[str, list[CallRecord]]) -> dict[str, Readiness]:
    return readiness_by_manager(by_manager) if readiness is None else dict(readiness)


def _write_set(root: Path, records: Sequence[CallRecord], readiness: Mapping[str, Readiness],
               failures: Iterable[StoredFailure],
               scripts: Mapping[str, SalesScript], env: jinja2.Environment, as_of: Optional[dt.date],
               copy_audio: bool = False, team: Optional[Team] = None,
               transcript_of: Optional[Callable[[str], Optional[Transcript]]] = None) -> None:
    targets = team.targets_for if team else lambda key: Targets()
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    slugs = unique_slugs(by_manager, fallback="manager")
    for key, calls in by_manager.items():
        folder = root / "managers" / slugs[key]
        (folder / "calls").mkdir(parents=True)
        stems = _call_slugs(calls)
        ordered = _chronological(calls)
        for i, rec in enumerate(ordered):
            if transcript_of is not None and rec.transcript is None:  # read for its page only, then let go
                rec = rec.model_copy(update={"transcript": transcript_of(rec.call_id)})
            page = build_call_page(rec, scripts.get(rec.result.script_id), page_dir=folder / "calls")
            page.back_href = "../index.html"
            page.prev_href = f"{stems[ordered[i - 1].call_id]}.html" if i > 0 else None
            page.next_href = f"{stems[ordered[i + 1].call_id]}.html" if i + 1 < len(ordered) else None
            if copy_audio and page.audio_href:
                page.audio_href = _copy_recording(rec, folder / "audio", stems[rec.call_id]) or page.audio_href
            (folder / "calls" / f"{stems[rec.call_id]}.html").write_text(render_call_page(page, env), encoding="utf-8")
        manager_page = build_manager_page(calls, slug=slugs[key],
                                          call_hrefs={c: f"calls/{s}.html" for c, s in stems.items()},
                                          readiness=readiness.get(key), scripts=scripts, as_of=as_of,
                                          daily_target=targets(key).daily_band)
        (folder / "index.html").write_text(render_manager_page(manager_page, env), encoding="utf-8")
    team_page = build_team_page(records, manager_hrefs={k: f"managers/{s}/index.html" for k, s in slugs.items()},
                                readiness=readiness, failures=failures, scripts=scripts, as_of=as_of,
                                daily_target=targets(None).daily_band)
    (root / "index.html").write_text(render_team_page(team_page, env), encoding="utf-8")
    (root / MARKER).write_text("call-compliance report set; this folder is replaced on every run\n", encoding="utf-8")


def _copy_recording(record: CallRecord, audio_dir: Path, stem: str) -> Optional[str]:
    """Copy a call's recording next to its page; the link from the call page, or None when it is missing."""
    source = Path(record.audio or "")
    if not source.is_file():
        return None
    audio_dir.mkdir(exist_ok=True)
    target = audio_dir / f"{stem}{source.suffix.lower()}"
    shutil.copy2(source, target)
    return f"../audio/{quote(target.name)}"


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
    out_dir = Path(out_dir).absolute()
    env = make_environment(lang, template_dir, generated_at=generated_at)
    records = list(records)
    by_manager: dict[str, list[CallRecord]] = defaultdict(list)
    for r in records:
        by_manager[r.manager].append(r)
    script_map = _script_map(scripts)
    readiness_map = _readiness_map(readiness, by_manager)
    _check_target(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(out_dir)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    except OSError as exc:
        raise ReportError(say("err.reports.cannot_write", out=out_dir, why=os_reason(exc))) from None
    try:
        _write_set(tmp, records, readiness_map, failures, script_map, env, as_of, copy_audio, team, transcript_of)
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
    records = store.calls(since=since, until=until, manager=manager, with_transcripts=False)
    options.setdefault("transcript_of", store.stored_transcript)
    if not records:
        what = say("err.reports.of_manager", manager=repr(manager)) if manager else ""
        when = say("err.reports.between", since=since or "…", until=until or "…") if (since or until) else ""
        raise ReportError(say("err.reports.no_calls", what=what, when=when))
    if "readiness" not in options:
        options["readiness"] = history_readiness(store, team, {r.manager for r in records})
    if "failures" not in options:
        options["failures"] = _last_failures(store)
    if "scripts" not in options:
        options["scripts"] = bundled_scripts()
    return write_reports(out_dir, records, team=team, **options)


def _last_failures(store: Store) -> list[StoredFailure]:
    last = store.last_batch()
    return store.failures(last.id) if last is not None else []


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
