"""Sales scripts: the model (stages, lines, branches, forbidden phrases, bands) and what a script means. Reading a
script file with its problems and team examples is `script_file.py`."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Annotated, Literal, Optional, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from compliance.errors import ScriptError
from compliance.scoring.acts import Act
from compliance.scoring.band import Band
from compliance.text.catalogue import say

PLACEHOLDERS = ("client", "manager", "company")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _check_line_text(text: str) -> str:
    if not text or not text.strip():
        raise ValueError(say("err.script.empty_line"))
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            raise ValueError(say("err.script.placeholder", name="{" + name + "}",
                                 known=", ".join("{%s}" % p for p in PLACEHOLDERS)))
    return text.strip()


LineText = Annotated[str, AfterValidator(_check_line_text)]


LINE_ID = r"^[A-Za-z0-9_\-]+$"


def derived_line_id(text: str) -> str:
    """The id of a line that gives none: made from its (first) text, folded (case, ё = е, punctuation and
    spacing ignored), so re-ordering lines keeps it and editing the text makes a new one."""
    folded = " ".join(re.findall(r"\w+|\{\w+\}", text.lower().replace("ё", "е")))
    return "t" + hashlib.sha256(folded.encode("utf-8")).hexdigest()[:10]


class AnyOf(BaseModel):
    """Alternatives for one line: saying any of them counts in full.

    ``cues`` are short phrases that show the line was said in the manager's own words (the general
    structure); a cue counts as a paraphrase, for ``paraphrase_credit`` of a verbatim line. ``examples`` are
    whole sentences from real calls that say the line in other words: the meaning scorer compares what the
    manager said with them as well as with the alternatives.
    """

    model_config = ConfigDict(extra="forbid")

    any: list[LineText] = Field(min_length=1)
    cues: list[LineText] = Field(default_factory=list, description="Paraphrase markers: the line said in own words.")
    examples: list[LineText] = Field(
        default_factory=list,
        description="Real phrasings of the line in a manager's own words: they anchor its meaning, not its wording.")
    id: Optional[str] = Field(
        default=None, pattern=LINE_ID,
        description="The line's stable id: the lead's decisions and team examples stay on it when its text changes.")


ScriptLine = Union[LineText, AnyOf]


class Stage(BaseModel):
    """One stage of the call: what the manager should say there."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    required: bool = True
    weight: float = Field(default=1.0, gt=0, le=100, allow_inf_nan=False)
    lines: list[ScriptLine] = Field(min_length=1)
    excludes: list[str] = Field(
        default_factory=list,
        description="Stages that do not apply when this one is said (a branch of the call).",
    )
    act: Optional[Act] = Field(
        default=None, description="What the stage must do to be credited, and where (compliance.scoring.acts).")

    def alternatives(self) -> list[list[str]]:
        """Each line as the list of its alternatives."""
        return [[line] if isinstance(line, str) else list(line.any) for line in self.lines]

    def cues(self) -> list[list[str]]:
        """Each line's paraphrase cues (empty for a plain line)."""
        return [[] if isinstance(line, str) else list(line.cues) for line in self.lines]

    def examples(self) -> list[list[str]]:
        """Each line's example phrasings (empty for a plain line)."""
        return [[] if isinstance(line, str) else list(line.examples) for line in self.lines]

    def line_ids(self) -> list[str]:
        """Each line's stable id: its ``id:``, else one derived from its first text (``derived_line_id``)."""
        return [line.id if isinstance(line, AnyOf) and line.id else
                derived_line_id(line if isinstance(line, str) else line.any[0]) for line in self.lines]

    def line_text(self, index: int) -> str:
        line = self.lines[index]
        return line if isinstance(line, str) else line.any[0]

    @model_validator(mode="after")
    def _unique_line_ids(self) -> "Stage":
        ids = self.line_ids()
        for i, line_id in enumerate(ids):
            if line_id in ids[:i]:
                raise ValueError(say("err.script.same_line_id", first=ids.index(line_id) + 1, second=i + 1,
                                     id=repr(line_id)))
        return self


Severity = Literal["critical", "minor"]
SEVERITIES = ("critical", "minor")
ORDER_MODES = ("strict", "loose", "ignored")
# Adherence points a stage said out of order costs (``order:`` of a script); a number in the script is used as is.
ORDER_POINTS = {"strict": 10.0, "loose": 0.0, "ignored": 0.0}


class ForbiddenGroup(BaseModel):
    """Forbidden phrases with a severity: ``critical`` puts the call below the band, ``minor`` costs points.

    Written ``{phrase: "…", severity: critical}`` for one phrase or ``{phrases: [...], severity: minor}`` for a
    group; a plain string in ``forbidden:`` is a minor phrase.
    """

    model_config = ConfigDict(extra="forbid")

    phrase: Optional[str] = None
    phrases: list[str] = Field(default_factory=list)
    severity: Severity = "minor"

    @model_validator(mode="after")
    def _some(self) -> "ForbiddenGroup":
        if (self.phrase is None) == (not self.phrases):
            raise ValueError(say("err.script.phrase_or_phrases"))
        return self

    def all_phrases(self) -> list[str]:
        return [self.phrase] if self.phrase is not None else list(self.phrases)


# The team's bands (team.yaml ``targets.bands``): ``calls``, ``chats`` or a script id → level → band (a Band, or
# its plain ``{min, max}`` as it travels to batch workers).
BandTable = Mapping[str, Mapping[str, Union[Band, Mapping[str, float]]]]


def _default_levels() -> dict[str, Band]:
    return {"newcomer": Band(min=85, max=90), "experienced": Band(min=55, max=60)}


class SalesScript(BaseModel):
    """A sales script: ordered stages, the lines of each, level bands and forbidden phrases."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    title: str
    language: str = "ru"
    levels: dict[str, Band] = Field(default_factory=_default_levels)
    stages: list[Stage] = Field(min_length=1)
    forbidden: list[Union[str, ForbiddenGroup]] = Field(
        default_factory=list,
        description="Phrases the manager must not say: a phrase (minor), or {phrase|phrases, severity: "
                    "critical|minor}. Critical: the call is below the band; minor: points off adherence.")
    order: Union[Literal["strict", "loose", "ignored"], Annotated[float, Field(ge=0, le=100)]] = Field(
        default="loose",
        description="How much the order of stages counts: strict (10 points off adherence per stage said out of "
                    "order), loose (reported, no points), ignored (not checked), or a number of points per stage.")

    @field_validator("forbidden")
    @classmethod
    def _forbidden(cls, value: list[Union[str, ForbiddenGroup]]) -> list[Union[str, ForbiddenGroup]]:
        seen: set[str] = set()
        out: list[Union[str, ForbiddenGroup]] = []
        for item in value:
            phrases = [item] if isinstance(item, str) else item.all_phrases()
            for phrase in phrases:
                if not phrase.strip():
                    raise ValueError(say("err.script.empty_forbidden"))
                key = phrase.strip().lower().replace("ё", "е")
                if key in seen:
                    raise ValueError(say("err.script.forbidden_twice", phrase=repr(phrase.strip())))
                seen.add(key)
            if isinstance(item, str):
                out.append(item.strip())
            else:
                out.append(item.model_copy(update={"phrase": item.phrase.strip() if item.phrase else None,
                                                   "phrases": [p.strip() for p in item.phrases]}))
        return out

    def forbidden_phrases(self) -> list[str]:
        """Every forbidden phrase, in the script's order."""
        return [p for p, _ in self.forbidden_severities()]

    def forbidden_severities(self) -> list[tuple[str, str]]:
        """Every forbidden phrase with its severity (a plain phrase is minor)."""
        out: list[tuple[str, str]] = []
        for item in self.forbidden:
            if isinstance(item, str):
                out.append((item, "minor"))
            else:
                out.extend((p, item.severity) for p in item.all_phrases())
        return out

    def order_points(self) -> Optional[float]:
        """Adherence points a stage said out of order costs; None when order is not checked (``ignored``)."""
        if self.order == "ignored":
            return None
        return ORDER_POINTS[self.order] if isinstance(self.order, str) else float(self.order)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: dict[str, Band]) -> dict[str, Band]:
        merged = _default_levels()
        merged.update(value)
        return merged

    @model_validator(mode="after")
    def _stage_ids(self) -> "SalesScript":
        seen: set[str] = set()
        for stage in self.stages:
            if stage.id in seen:
                raise ValueError(say("err.script.stage_twice", id=repr(stage.id)))
            seen.add(stage.id)
        for stage in self.stages:
            for other in stage.excludes:
                if other not in seen or other == stage.id:
                    raise ValueError(_excludes_problem(stage.id, other, [s.id for s in self.stages]))
        return self

    def band(self, level: str, channel: str = "call", bands: Optional[BandTable] = None) -> Band:
        """The band a call or chat at ``level`` is judged by (the one rule): the team's band for this script, else
        the team's band for its channel (``bands``: team.yaml ``targets.bands``, ``calls`` / ``chats``), else the
        script's own ``levels``.

        Raises:
            ScriptError: the level is not defined in the script.
        """
        for key in (self.id, "chats" if channel == "chat" else "calls"):
            found = (bands or {}).get(key, {}).get(level)
            if found is not None:
                return found if isinstance(found, Band) else Band.model_validate(found)
        try:
            return self.levels[level]
        except KeyError:
            raise ScriptError(say("err.script.no_level", script=self.id, level=repr(level),
                                  known=", ".join(self.levels))) from None

    def line_ids(self) -> dict[str, list[str]]:
        """Stage id → its lines' stable ids, in order."""
        return {stage.id: stage.line_ids() for stage in self.stages}

    def content_hash(self) -> str:
        """A hash of what the script means (not its comments or layout)."""
        # exclude_none: a script without line ids hashes as it did before lines could have them.
        payload = json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def _excludes_problem(stage: str, other: object, ids: list[str]) -> str:
    """What is wrong with one entry of a branch's ``excludes:``, and how to fix it."""
    if other == stage:   # both texts name ``excludes``: the model's own check is known by it (``_validate``)
        return say("err.script.excludes_itself", stage=repr(stage), e=", ".join(i for i in ids if i != stage)[:60])
    return say("err.script.excludes_unknown", stage=repr(stage), other=repr(other),
               ids=", ".join(i for i in ids if i != stage))


class Problem(BaseModel):
    """One thing wrong with a script file, located as precisely as the YAML allows."""

    file: str
    line: Optional[int] = None
    path: str = ""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or say('err.value.top')}: {self.message}"


def script_schema() -> dict:
    """The JSON Schema of a script file, for editor autocompletion."""
    schema = SalesScript.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "call-compliance sales script"
    return schema
