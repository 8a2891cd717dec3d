"""Who made a call and when: from a manifest CSV, the folder layout, or the file name.

Each field is taken from the first source that has it, in this order:

1. a manifest CSV (``file,manager,date[,script,level]``);
2. the folder layout ``DATE/MANAGER/…`` or ``MANAGER/DATE/…`` (the batch folder's own name counts);
3. the file name, matched by a regex with named groups ``manager``, ``date``, ``time``, ``phone``.

A file without a manager or a date is not guessed: it is reported as unattributed.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Iterable, Optional

from pydantic import BaseModel, Field

from compliance.errors import AttributionError
from compliance.history.roster import LEVELS, normalize_manager_key
from compliance.text.catalogue import say
from compliance.text.dates import parse_date
from compliance.text.os_errors import os_reason
from compliance.text.third_party import quoted

# Names that telephony systems and call recorders commonly give recordings, e.g.
#   2026-11-27_10-31-02_ivanova_380991234567.mp3     20261127_103102_ivanova.wav
#   ivanova_2026-11-27_10-31-02_380991234567.ogg     out-380991234567-ivanova-20261127-103102-1701.12.wav
_DATE = r"(?P<date>\d{4}-?\d{2}-?\d{2})"
_TIME = r"(?P<time>\d{2}[-:.]?\d{2}(?:[-:.]?\d{2})?)"
_PHONE = r"(?P<phone>\+?\d{5,15})"
_NAME = r"(?P<manager>[^\W\d_][\w.]*?)"
DEFAULT_PATTERNS: tuple[str, ...] = (
    rf"^{_DATE}[ _T-]{_TIME}[ _-]{_NAME}(?:[ _-]{_PHONE})?(?:[ _-].*)?$",
    rf"^{_NAME}[ _-]{_DATE}[ _T-]{_TIME}(?:[ _-]{_PHONE})?(?:[ _-].*)?$",
    rf"^{_DATE}[ _T-]{_TIME}[ _-]{_PHONE}[ _-]{_NAME}(?:[ _-].*)?$",
    rf"^(?:in|out|incoming|outgoing|external|internal)[ _-]{_PHONE}[ _-](?P<manager>\w+?)[ _-]{_DATE}[ _-]{_TIME}(?:[ ._-].*)?$",
    rf"^{_NAME}[ _-]{_DATE}(?:[ _-].*)?$",
)


class Attribution(BaseModel):
    """Who and when for one file, and where each answer came from."""

    manager: Optional[str] = None
    date: Optional[str] = None           # ISO YYYY-MM-DD
    time: Optional[str] = None           # HH:MM[:SS]
    phone: Optional[str] = None
    script: Optional[str] = None         # from the manifest
    level: Optional[str] = None          # from the manifest
    sources: dict[str, str] = Field(default_factory=dict)  # field → manifest | folders | filename | default

    @property
    def complete(self) -> bool:
        return bool(self.manager and self.date)

    def missing(self) -> list[str]:
        return [f for f in ("manager", "date") if not getattr(self, f)]


class ManifestRow(BaseModel):
    file: str
    manager: Optional[str] = None
    date: Optional[str] = None
    script: Optional[str] = None
    level: Optional[str] = None


def _parse_time(text: str) -> Optional[str]:
    digits = re.sub(r"\D", "", text)
    if len(digits) not in (4, 6):
        return None
    parts = [digits[i:i + 2] for i in range(0, len(digits), 2)]
    if int(parts[0]) > 23 or any(int(p) > 59 for p in parts[1:]):
        return None
    return ":".join(parts)


def compile_patterns(patterns: Iterable[str] | None) -> list[re.Pattern]:
    """Compile filename patterns (the defaults when None).

    Raises:
        AttributionError: a pattern is not a valid regex or has no ``manager``/``date`` group.
    """
    compiled = []
    for text in patterns or DEFAULT_PATTERNS:
        try:
            pat = re.compile(text)
        except re.error as exc:
            raise AttributionError(say("err.attr.regex", pattern=repr(text), why=quoted(str(exc)))) from None
        unknown = set(pat.groupindex) - {"manager", "date", "time", "phone"}
        if unknown:
            raise AttributionError(say("err.attr.groups", pattern=repr(text), groups=", ".join(sorted(unknown))))
        if not {"manager", "date"} & set(pat.groupindex):
            raise AttributionError(say("err.attr.needs_group", pattern=repr(text)))
        compiled.append(pat)
    return compiled


def load_manifest(path: str | Path) -> list[ManifestRow]:
    """Read ``file,manager,date[,script,level]`` rows (a header row is optional).

    Raises:
        AttributionError: the file cannot be read or a row has no file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        why = os_reason(exc) if isinstance(exc, OSError) else exc
        raise AttributionError(say("err.attr.manifest_unreadable", path=path, why=why)) from None
    rows = list(csv.reader(text.splitlines(), delimiter=";" if text.count(";") > text.count(",") else ","))
    fields = ["file", "manager", "date", "script", "level"]
    if rows and [c.strip().lower() for c in rows[0]][:1] == ["file"]:
        fields = [c.strip().lower() for c in rows[0]]
        rows = rows[1:]
    out = []
    for n, row in enumerate(rows, start=2 if fields[0] == "file" else 1):
        if not any(c.strip() for c in row):
            continue
        values = {k: (v.strip() or None) for k, v in zip(fields, row) if k in ManifestRow.model_fields}
        if not values.get("file"):
            raise AttributionError(say("err.attr.no_file", path=path, row=n))
        if date := values.get("date"):
            iso = parse_date(date)
            if iso is None:
                raise AttributionError(say("err.attr.date", path=path, row=n, date=repr(values["date"])))
            values["date"] = iso
        if values.get("level") and values["level"] not in LEVELS:
            raise AttributionError(say("err.attr.level", path=path, row=n, level=repr(values["level"])))
        out.append(ManifestRow.model_validate(values))
    return out


def manifest_key(path: Path) -> str:
    """How a manifest row and a file meet: the resolved path, case and ``\\``/``/`` aside (an export made on
    Windows writes ``calls\\x.TXT`` for ``calls/x.txt``)."""
    return str(path.resolve()).casefold()


def _row_keys(row: ManifestRow, root: Path, manifest_dir: Path) -> list[str]:
    given = Path(row.file.replace("\\", "/"))
    candidates = [given] if given.is_absolute() else [root / given, manifest_dir / given]
    return [manifest_key(cand) for cand in candidates]


def index_manifest(rows: list[ManifestRow], root: Path, manifest_dir: Path) -> dict[str, ManifestRow]:
    """Rows by file (the file column may be relative to the batch folder or to the manifest)."""
    index: dict[str, ManifestRow] = {}
    for row in rows:
        for key in _row_keys(row, root, manifest_dir):
            index.setdefault(key, row)
    return index


def unmatched_rows(rows: list[ManifestRow], root: Path, manifest_dir: Path, files: Iterable[Path]) -> list[ManifestRow]:
    """Manifest rows that name no file found: listed, never silently ignored."""
    keys = [_row_keys(row, root, manifest_dir) for row in rows]
    wanted = {k for row_keys in keys for k in row_keys}
    found = {k for k in map(manifest_key, files) if k in wanted}  # as large as the manifest, not the folder
    return [row for row, row_keys in zip(rows, keys) if not any(k in found for k in row_keys)]


def _from_folders(parts: list[str], known: set[str]) -> tuple[Optional[str], Optional[str]]:
    """(manager, date) from a DATE/MANAGER or MANAGER/DATE pair of folders, deepest first.

    ``parts[0]`` is the batch folder's own name: it may give the date, but the manager only when
    the roster knows that name (``recordings/2026-11-27/…`` is not a manager called "recordings").
    """
    for i in range(len(parts) - 1, -1, -1):
        date = parse_date(parts[i])
        if not date:
            continue
        cands = []
        for j in (i + 1, i - 1):  # DATE/MANAGER first, then MANAGER/DATE
            if 0 <= j < len(parts) and not parse_date(parts[j]):
                if j > 0 or normalize_manager_key(parts[j]) in known:
                    cands.append(parts[j])
        known_cands = [c for c in cands if normalize_manager_key(c) in known]
        return (known_cands or cands or [None])[0], date  # type: ignore[list-item]
    return None, None


def _from_filename(stem: str, patterns: list[re.Pattern]) -> dict[str, str]:
    for pat in patterns:
        m = pat.match(stem)
        if not m:
            continue
        groups = {k: v for k, v in m.groupdict().items() if v}
        if "date" in groups:
            iso = parse_date(groups["date"])
            if iso is None:
                continue
            groups["date"] = iso
        if "time" in groups:
            t = _parse_time(groups["time"])
            if t is None:
                continue
            groups["time"] = t
        return groups
    return {}


def attribute(path: Path, root: Path, *, patterns: list[re.Pattern], manifest: dict[str, ManifestRow] | None = None,
              known_managers: Iterable[str] = (), default_date: str | None = None) -> Attribution:
    """Work out manager, date, time and phone for one file found under ``root``."""
    known = {normalize_manager_key(k) for k in known_managers}
    att = Attribution()

    def _take(field: str, value: Optional[str], source: str) -> None:
        if value and not getattr(att, field):
            setattr(att, field, value)
            att.sources[field] = source

    row = (manifest or {}).get(manifest_key(path))
    if row:
        for field in ("manager", "date", "script", "level"):
            _take(field, getattr(row, field), "manifest")
    try:
        rel_dirs = list(path.relative_to(root).parts[:-1])
    except ValueError:
        rel_dirs = []
    manager, date = _from_folders([root.resolve().name, *rel_dirs], known)
    found = _from_filename(path.stem, patterns)
    name_in_file = found.get("manager")
    if (manager and name_in_file and normalize_manager_key(manager) not in known
            and normalize_manager_key(name_in_file) in known):
        manager = None  # a folder that is not in the roster loses to a roster name in the file name
    _take("manager", manager, "folders")
    _take("date", date, "folders")
    for field in ("manager", "date", "time", "phone"):
        _take(field, found.get(field), "filename")
    _take("date", default_date, "default")
    if att.manager:
        att.manager = normalize_manager_key(att.manager)
    return att
