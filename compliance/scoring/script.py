"""Sales scripts in YAML: the models, loading, and problem reports that point at the YAML line."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, Union

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from compliance.errors import ScriptError
from compliance.files import os_reason
from compliance.scoring.acts import Act
from compliance.scoring.band import Band
from compliance.text.catalogue import say
from compliance.text.validation import describe

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


def _branch_problems(data: dict, file: str, root: yaml.Node | None) -> list[Problem]:
    """Each bad ``excludes:`` entry, at its own YAML line (the model can only say "somewhere in the script")."""
    stages = data.get("stages")
    if not isinstance(stages, list):
        return []
    ids = [str(s["id"]) for s in stages if isinstance(s, dict) and isinstance(s.get("id"), str)]
    problems = []
    for i, stage in enumerate(stages):
        excludes = stage.get("excludes") if isinstance(stage, dict) else None
        if not isinstance(excludes, list) or not isinstance(stage.get("id"), str):
            continue
        for j, other in enumerate(excludes):
            if other not in ids or other == stage["id"]:
                loc = ("stages", i, "excludes", j)
                problems.append(Problem(file=file, line=_node_line(root, loc), path=".".join(map(str, loc)),
                                        message=_excludes_problem(stage["id"], other, ids)))
    return problems


_ENUM_FIXES = ("severity", "order")   # err.script.enum.<field>: what to write instead


class Problem(BaseModel):
    """One thing wrong with a script file, located as precisely as the YAML allows."""

    file: str
    line: Optional[int] = None
    path: str = ""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or say('err.value.top')}: {self.message}"


def _node_line(root: yaml.Node | None, loc: tuple) -> Optional[int]:
    """The 1-based YAML line of the deepest node found along a pydantic error location."""
    node, line = root, (root.start_mark.line + 1 if root is not None else None)
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
            if nxt is None:
                key_node = next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
                return key_node.start_mark.line + 1 if key_node is not None else line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            continue  # pydantic adds union-branch names ("str", "AnyOf") to locations
        line = node.start_mark.line + 1
    return line


def _clean_loc(loc: tuple) -> tuple:
    return tuple(p for p in loc if not (isinstance(p, str) and (p in _UNION_BRANCHES or "[" in p)))


_UNION_BRANCHES = ("str", "AnyOf", "ForbiddenGroup", "constrained-float")


def _shadowed(err: Any, loc: tuple, errors: list[Any], paths: list[tuple]) -> bool:
    """A union's other branch failing on type, where the branch that fits what was written says more."""
    if err["type"] in ("string_type", "model_type") and loc and loc[0] == "forbidden":
        return any(len(p) > len(loc) and p[:len(loc)] == loc for p in paths)
    if err["type"] in ("float_parsing", "float_type"):
        return any(p == loc and e["type"] == "literal_error" for e, p in zip(errors, paths))
    return False


def _validate(data: object, file: str, root: yaml.Node | None) -> tuple[Optional[SalesScript], list[Problem]]:
    branch = _branch_problems(data, file, root) if isinstance(data, dict) else []
    try:
        return SalesScript.model_validate(data), []
    except ValidationError as exc:
        problems, seen = list(branch), set()
        # The model's own excludes check has no location; the located problems above say it better.
        errors = [e for e in exc.errors() if not (branch and not e["loc"] and "excludes" in e["msg"])]
        # A line is a string or an ``any:`` mapping; report the branch that fits what was written.
        paths = [_clean_loc(e["loc"]) for e in errors]
        # Where every branch failed only on its type (a list, a number where a line goes), say what a line is.
        typed = {loc for err, loc in zip(errors, paths) if err["type"] in ("model_type", "string_type")}
        other = {loc for err, loc in zip(errors, paths) if err["type"] not in ("model_type", "string_type")}
        for err, loc in zip(errors, paths):
            if _shadowed(err, loc, errors, paths):
                continue
            if err["type"] in ("model_type", "string_type") and paths.count(loc) > 1:
                if loc in other or loc not in typed:
                    continue
                typed.discard(loc)
                err = {**err, "type": "line_shape"}
            path = ".".join(str(p) for p in loc)
            msg = describe({**err, "loc": loc})
            if err["type"] == "line_shape":
                msg = say("err.script.line_shape", got=type(err.get("input")).__name__)
            field = next((p for p in reversed(loc) if isinstance(p, str)), "")
            if err["type"] == "literal_error" and field in _ENUM_FIXES:
                msg = say(f"err.script.enum.{field}", value=repr(err.get("input")))
            if (path, msg) in seen:
                continue
            seen.add((path, msg))
            problems.append(Problem(file=file, line=_node_line(root, loc), path=path, message=msg))
        if not problems:  # never "invalid" without saying where
            first = errors[0]
            problems.append(Problem(file=file, line=_node_line(root, paths[0]), path=".".join(map(str, paths[0])),
                                    message=describe(first)))
        return None, problems


def check_script_file(path: str | Path) -> tuple[Optional[SalesScript], list[Problem]]:
    """Load a script and list every problem in it instead of stopping at the first."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(file=file, message=say("err.script.missing"))]
    except UnicodeDecodeError:
        return None, [Problem(file=file, message=say("err.script.not_utf8"))]
    except OSError as exc:
        return None, [Problem(file=file, message=say("err.script.unreadable", why=os_reason(exc)))]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(file=file, line=mark.line + 1 if mark else None,
                              message=say("err.script.yaml", why=reason))]
    if not isinstance(data, dict):
        return None, [Problem(file=file, line=1, message=say("err.script.shape"))]
    script, problems = _validate(data, file, root)
    if script is None:
        return None, problems
    from .examples import merge_examples  # the team examples file beside the script (imported late: it uses us)

    script, problems = merge_examples(script, path)
    return (None if problems else script), problems


def load_script(path: str | Path) -> SalesScript:
    """Load and validate a sales script.

    Raises:
        ScriptError: with every problem as ``file:line: field: message`` in ``problems``.
    """
    script, problems = check_script_file(path)
    if problems:
        lines = "\n".join(str(p) for p in problems)
        raise ScriptError(say("err.script.invalid_one" if len(problems) == 1 else "err.script.invalid", lines=lines),
                          problems)
    assert script is not None
    return script


def script_schema() -> dict:
    """The JSON Schema of a script file, for editor autocompletion."""
    schema = SalesScript.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "call-compliance sales script"
    return schema
