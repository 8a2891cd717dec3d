"""Sales scripts in YAML: the models, loading, and problem reports that point at the YAML line."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Optional, Union

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

PLACEHOLDERS = ("client", "manager", "company")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Band(BaseModel):
    """The adherence range (percent) a level is expected to land in."""

    model_config = ConfigDict(extra="forbid")

    min: float = Field(ge=0, le=100)
    max: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> "Band":
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self


def _check_line_text(text: str) -> str:
    if not text or not text.strip():
        raise ValueError("empty line")
    for name in _PLACEHOLDER.findall(text):
        if name not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {{{name}}} (known: {', '.join('{%s}' % p for p in PLACEHOLDERS)})")
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
                raise ValueError(f"lines {ids.index(line_id) + 1} and {i + 1} have the same id {line_id!r} "
                                 "(the same text, or the same id:); give one of them its own id:")
        return self


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
    forbidden: list[str] = Field(default_factory=list)

    @field_validator("forbidden")
    @classmethod
    def _forbidden(cls, value: list[str]) -> list[str]:
        for phrase in value:
            if not phrase.strip():
                raise ValueError("empty forbidden phrase")
        return [p.strip() for p in value]

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
                raise ValueError(f"duplicate stage id {stage.id!r}")
            seen.add(stage.id)
        for stage in self.stages:
            for other in stage.excludes:
                if other not in seen or other == stage.id:
                    raise ValueError(f"stage {stage.id!r} excludes unknown stage {other!r}")
        return self

    def band(self, level: str) -> Band:
        try:
            return self.levels[level]
        except KeyError:
            raise ScriptError(f"script {self.id}: no level {level!r} (known: {', '.join(self.levels)})") from None

    def line_ids(self) -> dict[str, list[str]]:
        """Stage id → its lines' stable ids, in order."""
        return {stage.id: stage.line_ids() for stage in self.stages}

    def content_hash(self) -> str:
        """A hash of what the script means (not its comments or layout)."""
        # exclude_none: a script without line ids hashes as it did before lines could have them.
        payload = json.dumps(self.model_dump(mode="json", exclude_none=True), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class Problem(BaseModel):
    """One thing wrong with a script file, located as precisely as the YAML allows."""

    file: str
    line: Optional[int] = None
    path: str = ""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path or '(top level)'}: {self.message}"


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
    return tuple(p for p in loc if not (isinstance(p, str) and (p in ("str", "AnyOf") or "[" in p)))


def _validate(data: object, file: str, root: yaml.Node | None) -> tuple[Optional[SalesScript], list[Problem]]:
    try:
        return SalesScript.model_validate(data), []
    except ValidationError as exc:
        problems, seen = [], set()
        errors = exc.errors()
        # A line is a string or an ``any:`` mapping; report the branch that fits what was written.
        paths = [_clean_loc(e["loc"]) for e in errors]
        # Where every branch failed only on its type (a list, a number where a line goes), say what a line is.
        typed = {loc for err, loc in zip(errors, paths) if err["type"] in ("model_type", "string_type")}
        other = {loc for err, loc in zip(errors, paths) if err["type"] not in ("model_type", "string_type")}
        for err, loc in zip(errors, paths):
            if err["type"] in ("model_type", "string_type") and paths.count(loc) > 1:
                if loc in other or loc not in typed:
                    continue
                typed.discard(loc)
                err = {**err, "msg": "a line is a phrase, or {any: [phrases]} for alternatives "
                                     f"(got {type(err.get('input')).__name__}: write - any: [...])"}
            path = ".".join(str(p) for p in loc)
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r}"
            if (path, msg) in seen:
                continue
            seen.add((path, msg))
            problems.append(Problem(file=file, line=_node_line(root, loc), path=path, message=msg))
        if not problems:  # never "invalid" without saying where
            first = errors[0]
            problems.append(Problem(file=file, line=_node_line(root, paths[0]), path=".".join(map(str, paths[0])),
                                    message=first["msg"]))
        return None, problems


def check_script_file(path: str | Path) -> tuple[Optional[SalesScript], list[Problem]]:
    """Load a script and list every problem in it instead of stopping at the first."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(file=file, message="no such file")]
    except UnicodeDecodeError:
        return None, [Problem(file=file, message="not UTF-8 text; save the script as UTF-8")]
    except OSError as exc:
        return None, [Problem(file=file, message=f"cannot read ({exc.strerror})")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(file=file, line=mark.line + 1 if mark else None, message=f"invalid YAML: {reason}")]
    if not isinstance(data, dict):
        return None, [Problem(file=file, line=1, message="expected a mapping with id, title, stages")]
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
        raise ScriptError(f"invalid script {lines}" if len(problems) == 1 else f"invalid script:\n{lines}", problems)
    assert script is not None
    return script


def script_schema() -> dict:
    """The JSON Schema of a script file, for editor autocompletion."""
    schema = SalesScript.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "call-compliance sales script"
    return schema
