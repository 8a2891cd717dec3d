"""The team roster (team.yaml): who the managers are, their level and since when, their script.

```yaml
managers:
  ivanova:                       # the key used in folder and file names (case-insensitive)
    name: "Иванова Мария"
    level: newcomer              # newcomer | experienced
    since: 2026-11-01            # when the manager got this level
    script: sales_call           # optional: a script id, or a path relative to team.yaml
    pipedrive_user_id: 12345     # optional: the manager's Pipedrive user (`compliance pipedrive users`)
    chat_names: ["Мария Иванова", "Маша | СкладПро"]   # optional: the manager's names in Telegram/WhatsApp
    pbx_extensions: [101]        # optional: the manager's extensions (internal numbers) in the cloud PBX
    targets: {contacts_per_day: 30}   # optional: this manager's own daily targets (the rest from the team's)
currency: UAH                    # optional: the team's sales currency (ISO code; UAH is written «грн»)
targets:                         # optional: the team's daily targets; these are the defaults (the regulations)
  contacts_per_day: 40           # connected calls + chats the client replied in (the daily KPI)
  connected_per_day: {min: 30, max: 40}   # connected calls a day (the team page's «сегодня»)
  leads_per_day: 70              # deals and leads a manager handles a day
  bands:                         # adherence bands (%) the verdict judges by, over the scripts' own `levels:`
    calls: {newcomer: {min: 85, max: 90}, experienced: {min: 55, max: 60}}
    chats: {newcomer: {min: 80, max: 90}, experienced: {min: 50, max: 60}}
    payment_reminder: {newcomer: {min: 80, max: 90}}   # a script id: that script's own band
```
Without ``bands`` (the default) every call is judged by its script's ``levels:`` — the packaged call scripts say
85–90 % for a newcomer and 55–60 % for an experienced manager, the chat script 80–90 % and 50–60 % (a chat's client
writes briefly and a price list or a link stands in for some lines). A band given here wins: a script's own entry,
else ``calls`` or ``chats``, else the script's; a manager's ``targets: {bands: …}`` wins over the team's, level by
level (``SalesScript.band`` is the one rule).
"""
from __future__ import annotations

import datetime as dt
import io
import unicodedata
from pathlib import Path
from typing import ClassVar, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from compliance.errors import TeamError
from compliance.files import write_atomic
from compliance.scoring.band import Band, OrderedRange
from compliance.scoring.choices import LEVELS  # noqa: F401 - the one list of levels, also read from here
from compliance.text.catalogue import say
from compliance.text.os_errors import describe_write_error
from compliance.text.third_party import yaml_reason
from compliance.text.validation import describe, where

Level = Literal["newcomer", "experienced"]


class DayRange(OrderedRange):
    """A number a day should fall in: ``{min: 30, max: 40}``."""

    min: int = Field(ge=0, le=10_000)  # whole contacts
    max: int = Field(ge=0, le=10_000)
    disorder: ClassVar[str] = "err.range.day_disorder"


class Targets(BaseModel):
    """The regulations' daily numbers: team.yaml ``targets:`` for the team, a manager's ``targets:`` for them.

    The defaults are the regulations' own: 40 contacts, 30–40 connected calls, about 70 leads a day.
    """

    model_config = ConfigDict(extra="forbid")

    contacts_per_day: int = Field(default=40, gt=0, le=10_000)
    connected_per_day: DayRange = Field(default_factory=lambda: DayRange(min=30, max=40))
    leads_per_day: int = Field(default=70, gt=0, le=10_000)
    # ``calls`` / ``chats`` / a script id → level → band (min ≤ max: ``Band`` checks); empty: the scripts' own
    # ``levels:`` (see the module doc)
    bands: dict[str, dict[Level, Band]] = Field(default_factory=dict)

    @property
    def daily_band(self) -> tuple[int, int]:
        """Connected calls a day as (min, max): the band pages colour a day by."""
        return self.connected_per_day.min, self.connected_per_day.max


class Manager(BaseModel):
    """One manager in the roster."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    name: str = ""
    level: Level = "newcomer"
    since: Optional[dt.date] = None
    script: Optional[str] = None
    # Who the manager is in Pipedrive: notes and call logs of their calls are written in their name.
    pipedrive_user_id: Optional[int] = Field(default=None, gt=0, strict=True)
    chat_names: list[str] = Field(default_factory=list)  # display names in messenger exports: the manager's side
    targets: Optional[Targets] = None                    # only the keys given override the team's
    pbx_extensions: list[str] = Field(default_factory=list)  # internal numbers in the PBX: `compliance fetch`

    @field_validator("pbx_extensions", mode="before")
    @classmethod
    def _extensions(cls, value: object) -> object:
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, list):
            out = []
            for item in value:
                text = str(item).strip() if isinstance(item, (str, int)) and not isinstance(item, bool) else ""
                if not text or not text.replace("*", "").isalnum():
                    raise ValueError(say("err.roster.extension", item=repr(item)))
                out.append(text)
            return out
        return value

    @field_validator("chat_names")
    @classmethod
    def _chat_names(cls, value: list[str]) -> list[str]:
        names = [" ".join(n.split()) for n in value]
        if any(not n for n in names):
            raise ValueError(say("err.roster.empty_chat_name"))
        return names

    def level_on(self, date: str | None) -> str:
        """The level the manager had on ``date``: before ``since`` an experienced manager was a newcomer."""
        if self.level == "experienced" and self.since and date:
            try:
                if dt.date.fromisoformat(date) < self.since:
                    return "newcomer"
            except ValueError:
                pass
        return self.level


class Team(BaseModel):
    """The roster: managers by key."""

    model_config = ConfigDict(extra="forbid")

    managers: dict[str, Manager] = Field(default_factory=dict)
    targets: Targets = Field(default_factory=Targets)
    currency: str = Field(default="UAH", pattern=r"^[A-Z]{3}$")   # ISO 4217: the sales in daily reports and sheets
    # the team's Whisper model: a local CTranslate2 folder (or a faster-whisper name); None: the bundled base model.
    # ``batch --model`` overrides it. A relative folder is read from the team file's folder.
    model: Optional[str] = None
    path: Optional[Path] = Field(default=None, exclude=True)

    @field_validator("managers", mode="before")
    @classmethod
    def _keys(cls, value: object) -> object:
        if isinstance(value, dict):
            for k in value:
                check_manager_key(str(k) if k is not None else "")
            return {normalize_manager_key(str(k)): ({"id": normalize_manager_key(str(k)), **v}
                                                    if isinstance(v, dict) else v)
                    for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _chat_names_once(self) -> "Team":
        owner: dict[str, str] = {}
        for key, manager in self.managers.items():
            for name in manager.chat_names:
                other = owner.setdefault(chat_name_key(name), key)
                if other != key:
                    raise ValueError(say("err.roster.chat_name_twice", name=repr(name), other=other, key=key))
        extension_owner: dict[str, str] = {}
        for key, manager in self.managers.items():
            for ext in manager.pbx_extensions:
                other = extension_owner.setdefault(ext, key)
                if other != key:
                    raise ValueError(say("err.roster.extension_twice", ext=ext, other=other, key=key))
        return self

    def get(self, key: str) -> Optional[Manager]:
        return self.managers.get(normalize_manager_key(key))

    def targets_for(self, key: Optional[str]) -> Targets:
        """The daily targets of one manager: the team's, with what the manager's own ``targets:`` give."""
        manager = self.get(key) if key else None
        if manager is None or manager.targets is None:
            return self.targets
        own = manager.targets.model_dump(exclude_unset=True)
        bands = {k: dict(v) for k, v in self.targets.model_dump()["bands"].items()}
        for channel, levels in own.pop("bands", {}).items():   # level by level: the rest stays the team's
            bands.setdefault(channel, {}).update(levels)
        return Targets.model_validate({**self.targets.model_dump(), **own, "bands": bands})
    def model_folder(self) -> Optional[str]:
        """The team's model as recognition takes it: a relative folder read from the team file's folder."""
        if not self.model or self.path is None or Path(self.model).expanduser().is_absolute():
            return self.model
        beside = self.path.parent / self.model
        return str(beside) if beside.is_dir() else self.model

    def chat_names(self) -> list[str]:
        """Every manager's display names in chats."""
        return [name for m in self.managers.values() for name in m.chat_names]

    def by_extension(self, extension: str) -> Optional[Manager]:
        """The manager whose ``pbx_extensions`` hold this internal number."""
        ext = str(extension).strip()
        return next((m for m in self.managers.values() if ext and ext in m.pbx_extensions), None)

    def by_chat_name(self, names: list[str]) -> Optional[Manager]:
        """The manager one of whose chat names is among ``names`` (the senders of a chat)."""
        wanted = {chat_name_key(n) for n in names}
        return next((m for m in self.managers.values() if any(chat_name_key(n) in wanted for n in m.chat_names)),
                    None)


def check_manager_key(key: str) -> str:
    """A roster key names a folder of reports: it must be a plain name, not empty and not a path."""
    text = key.strip()
    if not text or text in (".", "..") or any(ch in text for ch in "/\\\x00") or text.startswith("."):
        raise ValueError(say("err.roster.key", key=repr(key)))
    return text


def chat_name_key(name: str) -> str:
    """Display names in chats compare case-insensitively, ё = е, spaces collapsed, invisible format characters
    (zero-width space and joiner, direction marks, soft hyphen) left out: they do not show, so they do not count."""
    shown = "".join(c for c in name if unicodedata.category(c) != "Cf")
    return " ".join(shown.casefold().replace("ё", "е").split())


def normalize_manager_key(key: str) -> str:
    """Roster keys and names found in paths compare case-insensitively, ё = е."""
    return key.strip().casefold().replace("ё", "е")


def load_team(path: str | Path) -> Team:
    """Read a roster file.

    Raises:
        TeamError: the file is missing, not YAML, or has unknown keys / bad values.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TeamError(say("err.roster.missing", path=path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TeamError(say("err.roster.unreadable", path=path, why=exc)) from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise TeamError(say("err.roster.yaml", path=path, why=yaml_reason(exc))) from None
    if not isinstance(data, dict):
        raise TeamError(say("err.roster.shape", path=path))
    try:
        team = Team.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise TeamError(say("err.roster.invalid", path=path, where=where(err), what=describe(err))) from None
    team.path = path
    return team


def set_level(path: str | Path, manager: str, level: str, since: dt.date | None = None,
              name: str | None = None, create: bool = False) -> Manager:
    """Change a manager's level in the roster file (``since`` defaults to today).

    Raises:
        TeamError: unknown level, or the manager is not in the roster and ``create`` is false.
    """
    if level not in LEVELS:
        raise TeamError(say("err.roster.level", level=repr(level), known=", ".join(LEVELS)))
    path = Path(path)
    team = load_team(path) if path.exists() or not create else Team()
    key = normalize_manager_key(manager)
    current = team.managers.get(key)
    if current is None:
        if not create:
            known = ", ".join(team.managers) or "—"
            raise TeamError(say("err.roster.no_manager", path=path, manager=repr(manager), known=known))
        current = Manager(id=key, name=name or "")
    updated = current.model_copy(update={"level": level, "since": since or dt.date.today(),
                                         **({"name": name} if name else {})})
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        write_atomic(path, _edited_roster(text, key, updated))
    except OSError as exc:
        raise TeamError(say("err.roster.unwritable", path=path, why=describe_write_error(path, exc))) from None
    return updated


def _edited_roster(text: str, key: str, manager: Manager) -> str:
    """The roster file's text with one manager's entry changed; comments, order and layout are kept."""
    from ruamel.yaml import YAML

    rt = YAML()  # round-trip: keeps comments, key order and quoting
    rt.indent(mapping=2, sequence=4, offset=2)
    rt.width = 4096
    data = rt.load(text) if text.strip() else None
    if data is None:
        data = {"managers": {}}
    managers = data.setdefault("managers", {})
    if managers is None:
        managers = data["managers"] = {}
    found = next((k for k in managers if normalize_manager_key(str(k)) == key), key)
    entry = managers.get(found)
    if not isinstance(entry, dict):
        entry = managers[found] = {}
    entry["level"] = manager.level
    entry["since"] = manager.since
    if manager.name:
        entry["name"] = manager.name
    out = io.StringIO()
    rt.dump(data, out)
    return out.getvalue()
