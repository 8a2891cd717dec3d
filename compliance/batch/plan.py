"""Planning: the scripts a batch may use, one job per file, and what its stored score depends on."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from pydantic import ValidationError

from compliance.errors import ComplianceError, ScriptError
from compliance.files import shown_path
from compliance.history.attribution import Attribution
from compliance.history.roster import Manager, Team
from compliance.resources import default_script_path, resource_dir
from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import load_script
from compliance.text.catalogue import say
from compliance.text.validation import describe, where


@dataclass
class _Scripts:
    """The scripts a batch can use: candidates for auto choice, plus any a roster or manifest names."""

    candidates: list[SalesScript]
    explicit: bool                                  # --script was given
    by_id: dict[str, SalesScript] = field(default_factory=dict)
    by_path: dict[str, SalesScript] = field(default_factory=dict)

    def resolve(self, spec: str, base: Path | None) -> SalesScript:
        """A script named by id (loaded or bundled) or by path (relative to ``base`` or the cwd)."""
        if spec in self.by_id:
            return self.by_id[spec]
        tries = [Path(spec)] if Path(spec).is_absolute() else [p for p in ((base / spec) if base else None,
                                                                              Path(spec)) if p]
        for path in tries:
            key = str(path.resolve())
            if key in self.by_path:
                return self.by_path[key]
            if path.is_file():
                script = load_script(path)
                self.by_path[key] = script
                self.by_id.setdefault(script.id, script)
                return script
        raise ScriptError(say("err.batch.script", spec=repr(spec), ids=", ".join(sorted(self.by_id))))

    def chat_default(self) -> SalesScript:
        """The bundled chat script (loaded once)."""
        chat_id = default_script_path("chat").name.split(".")[0]
        if chat_id not in self.by_id:
            self.by_id[chat_id] = load_script(default_script_path("chat"))
        return self.by_id[chat_id]

    def auto_key(self) -> str:
        return "auto:" + ",".join(sorted(s.content_hash() for s in self.candidates))


def _load_scripts(paths: list[Path]) -> _Scripts:
    candidates = [load_script(p) for p in paths] if paths else [load_script(default_script_path())]
    seen: dict[str, tuple[str, Path]] = {}
    for script, path in zip(candidates, paths):
        earlier = seen.setdefault(script.id, (script.content_hash(), path))
        if earlier[0] != script.content_hash():
            raise ScriptError(say("err.batch.script_id_twice", path=path, id=repr(script.id), other=earlier[1]))
    scripts = _Scripts(candidates=candidates, explicit=bool(paths))
    try:
        for path in sorted(resource_dir("scripts_yaml").glob("*.yaml")):
            try:
                bundled = load_script(path)
            except ScriptError:
                continue
            scripts.by_id.setdefault(bundled.id, bundled)
    except FileNotFoundError:
        pass
    for s in candidates:
        scripts.by_id[s.id] = s  # the given files win over bundled ones with the same id
    return scripts


@dataclass
class _Job:
    path: Path
    kind: str                                   # audio | transcript | chat
    call_id: str
    att: Attribution
    manager: Optional[Manager]
    level: str
    script: Optional[SalesScript]               # None: choose automatically among the candidates
    script_choice: str
    score_key: str
    transcribe_key: str
    action: str = "analyse"                     # analyse | rescore
    duration: float = 0.0
    part: Optional[str] = None                  # the chat of a many-chat export
    names: list[str] = field(default_factory=list)  # the managers' chat names (the manager's side of a chat)
    content_hash: str = ""                      # what the call holds now (``call_id`` is where it came from)
    source_key: str = ""                        # its path under the batch folder, or ``chat:…``
    changed: bool = False                       # a stored call whose content changed: updated in place
    size: int = 0                               # a chat's messages (the fuller of two exports counts)
    bands: dict = field(default_factory=dict)   # the team's bands for this manager (team.yaml, plain values)

    @property
    def manager_key(self) -> str:
        """Who made the call (a job is made only for a file whose manager and date are known)."""
        return self.att.manager or ""

    @property
    def date(self) -> str:
        return self.att.date or ""

    @property
    def file(self) -> str:
        """The file as stored and shown (a name that is not UTF-8 is escaped); ``#chat`` for one chat of many."""
        return shown_path(os.path.abspath(self.path)) + (f"#{self.part}" if self.part else "")


def _score_key(job: _Job, script_key: str) -> str:
    from compliance.scoring.embeddings import load_embedder
    from compliance.scoring.score import SCORER_VERSION

    # A new scorer, or the meaning model becoming available (or not), re-scores stored calls: cheap, from
    # the stored transcript.
    payload = {"scorer": SCORER_VERSION, "meaning": load_embedder() is not None,
               "script": script_key, "level": job.level, "manager": job.att.manager,
               "name": job.manager.name if job.manager else "", "date": job.att.date, "time": job.att.time,
               "phone": job.att.phone, "unknown": job.manager is None,
               **({"bands": job.bands} if job.bands else {})}   # a band changed in team.yaml: the verdict again
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _pick_script(att: Attribution, manager: Optional[Manager], scripts: _Scripts, team: Team | None,
                 manifest_dir: Path | None, kind: str = "call") -> tuple[Optional[SalesScript], str]:
    if att.script:
        return scripts.resolve(att.script, manifest_dir), "manifest"
    if kind == "chat" and not scripts.explicit:
        # Chats are worded differently from calls: the roster's script is the manager's call script.
        return scripts.chat_default(), "default"
    if manager and manager.script:
        return scripts.resolve(manager.script, team.path.parent if team and team.path else None), "roster"
    if len(scripts.candidates) == 1:
        return scripts.candidates[0], "option" if scripts.explicit else "default"
    return None, "auto"


def _audio_duration(path: Path) -> float:
    try:
        import av

        with av.open(str(path)) as container:
            return float(container.duration or 0) / 1_000_000
    except Exception:  # a progress estimate only; a broken file fails later with its real reason
        return 0.0


class _Transcription:
    """The transcription options, made only when a recording needs them (imports the speech stack)."""

    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self._options: Any = None
        self._key: Optional[str] = None

    @property
    def options(self) -> Any:
        if self._options is None:
            from compliance.speech.transcribe import TranscribeOptions

            fields = TranscribeOptions.model_fields
            try:
                self._options = TranscribeOptions(**{k: v for k, v in self.overrides.items() if k in fields})
            except ValidationError as exc:
                err = exc.errors()[0]
                raise ComplianceError(say("err.batch.option", where=where(err), what=describe(err))) from None
        return self._options

    def key(self) -> str:
        """What the stored transcript of a recording depends on (a short hash of the cache key)."""
        if self._key is None:
            try:
                key = self.options.cache_key()
            except ImportError:
                return "unavailable"
            text = key if isinstance(key, str) else json.dumps(key, sort_keys=True, default=str)
            self._key = hashlib.sha256(text.encode()).hexdigest()[:16]
        return self._key
