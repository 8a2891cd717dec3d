"""A script file as the lead writes it: YAML read into the model with every problem at its YAML line, the team
examples file beside it merged in, and the lead's additions to that file.

``script.py`` holds the model (what a script is); ``examples.py`` the team examples file's format; this module
reads both from disk, so neither of them needs the other's loader.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml
from filelock import FileLock
from pydantic import ValidationError

from compliance.errors import ScriptError
from compliance.files import write_atomic
from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import yaml_reason
from compliance.text.validation import describe

from .examples import _HEADER, SUFFIX, _read, examples_path, merge_examples, script_of_examples
from .script import Problem, SalesScript, _check_line_text, _excludes_problem


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
        return None, [Problem(file=file, line=mark.line + 1 if mark else None,
                              message=say("err.script.yaml", why=yaml_reason(exc, with_line=False)))]
    if not isinstance(data, dict):
        return None, [Problem(file=file, line=1, message=say("err.script.shape"))]
    script, problems = _validate(data, file, root)
    if script is None:
        return None, problems
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


def check_examples_file(path: str | Path) -> tuple[int, list[Problem]]:
    """A team examples file checked against the script beside it: its number of sentences, and its problems
    (the script's own problems are reported with the script).

    Raises:
        ValueError: ``path`` is not a team examples file.
    """
    script_path = script_of_examples(path)
    if script_path is None:
        raise ValueError(say("err.examples.not_examples", path=path, suffix=SUFFIX))
    if not script_path.is_file():
        return 0, [Problem(file=str(path), message=say("err.examples.no_script", name=script_path.name))]
    script, problems = check_script_file(script_path)
    own = [p for p in problems if p.file == str(examples_path(script_path))]
    if script is None and not own:
        return 0, [Problem(file=str(path), message=say("err.examples.script_bad", name=script_path.name))]
    data, _ = _read(Path(path))
    count = sum(len(sentences) for lines in data.values() if isinstance(lines, dict)
                for sentences in lines.values() if isinstance(sentences, list))
    return count, own


def add_example(script_path: str | Path, stage_id: str, line_id: str, sentence: str) -> Path:
    """Add a manager's sentence to the line with id ``line_id`` of a stage, in the script's team examples file.

    Raises:
        ScriptError: the script has no such stage or line, the sentence is empty, or the file cannot be written.
    """
    try:
        text = _check_line_text(sentence)
    except ValueError as exc:
        raise ScriptError(say("err.examples.example", why=exc)) from None
    path = examples_path(script_path)
    try:
        lock = FileLock(str(path.with_name(f".{path.name}.lock")), timeout=60)  # hidden: no clutter beside scripts
        with lock:  # read, add, rewrite: one writer at a time, across threads and processes
            script = load_script(script_path)
            stage = next((s for s in script.stages if s.id == stage_id), None)
            if stage is None or line_id not in stage.line_ids():
                raise ScriptError(say("err.examples.edited", path=script_path, line=repr(line_id),
                                      stage=repr(stage_id)))
            data: dict[str, Any] = _read(path)[0] if path.is_file() else {}
            lines = data.setdefault(stage_id, {})
            number = stage.line_ids().index(line_id) + 1
            if number in lines:  # a file from before line ids: its numbered entry moves under the id
                lines.setdefault(line_id, [])
                lines[line_id] += [s for s in lines.pop(number) if s not in lines[line_id]]
            known: list[str] = lines.setdefault(line_id, [])
            if text not in known:
                known.append(text)
            write_atomic(path, _HEADER + yaml.safe_dump(data, allow_unicode=True, sort_keys=True))
    except OSError as exc:
        raise ScriptError(say("err.examples.unwritable", path=path, why=os_reason(exc))) from None
    return path
