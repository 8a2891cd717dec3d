"""The team examples file: sentences managers really said for a script line, added by the lead from the review
app ("use as example"). Scoring reads it with its script, so the meaning scorer learns the team's own wording.

It sits beside the script: ``sales_call.ru.yaml`` → ``sales_call.ru.examples.yaml``, a mapping of stage id →
line id → sentences (a line's id is its ``id:``, or one derived from its text: ``SalesScript.line_ids``)::

    greeting:
      t4ec7c11972: ["Алло, Мария, приветствую!"]

so the examples stay on their line when lines are inserted, removed or moved. A line number (from 1) as the key
is still read (files written before line ids). Examples of a line that left the script are a problem that names
the id: give the edited line that ``id:`` to keep them. Adding a sentence changes the script's content hash, so
the next batch re-scores the calls scored with it. Concurrent additions (the review app serves many requests at
once) take a lock on the file for the read-modify-write, so none is lost.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import yaml

from compliance.text.catalogue import say
from compliance.text.os_errors import os_reason
from compliance.text.third_party import quoted, yaml_reason

from .script import AnyOf, Problem, SalesScript, _check_line_text

SUFFIX = ".examples.yaml"
_HEADER = ("# Team examples: sentences managers really said for a script line (stage id → line id → sentences).\n"
           "# Added by the lead from the review app (compliance serve); scoring reads this file with the script.\n")


def examples_path(script_path: str | Path) -> Path:
    """The team examples file of a script file."""
    path = Path(script_path)
    return path.with_name(path.name.removesuffix(".yaml").removesuffix(".yml") + SUFFIX)


def _read(path: Path) -> tuple[dict[str, Any], list[Problem]]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        why = yaml_reason(exc) if isinstance(exc, yaml.YAMLError) else os_reason(exc) if isinstance(exc, OSError) \
            else quoted(str(exc))
        return {}, [Problem(file=str(path), message=say("err.examples.unreadable", why=why))]
    if not isinstance(data, dict):
        return {}, [Problem(file=str(path), line=1, message=say("err.examples.shape"))]
    return data, []


def _line_examples(stage_id: str, number: Any, sentences: Any, ids: list[str]) -> tuple[int, list[str]]:
    where = f"{stage_id}.{number}"
    if isinstance(number, str) and number in ids:
        number = ids.index(number) + 1
    elif isinstance(number, str):
        raise ValueError(say("err.examples.no_line_id", where=where, id=repr(number), stage=repr(stage_id),
                             bare=number))
    if not isinstance(number, int) or not 1 <= number <= len(ids):
        raise ValueError(say("err.examples.no_line", where=where, line=repr(number), stage=repr(stage_id),
                             lines=len(ids)))
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        raise ValueError(say("err.examples.not_list", where=where))
    try:
        return number - 1, [_check_line_text(s) for s in sentences]
    except ValueError as exc:
        raise ValueError(say("err.examples.sentence", where=where, why=exc)) from None


def script_of_examples(path: str | Path) -> Optional[Path]:
    """The script a team examples file belongs to (``x.ru.examples.yaml`` → ``x.ru.yaml``); None for any other file."""
    path = Path(path)
    return path.with_name(path.name.removesuffix(SUFFIX) + ".yaml") if path.name.endswith(SUFFIX) else None



def merge_examples(script: SalesScript, script_path: str | Path) -> tuple[SalesScript, list[Problem]]:
    """The script with its team examples added to its lines' ``examples`` (as it is when there is no file)."""
    path = examples_path(script_path)
    if not path.is_file():
        return script, []
    data, problems = _read(path)
    merged = script.model_copy(deep=True)
    stages = {s.id: s for s in merged.stages}
    for stage_id, lines in data.items():
        stage = stages.get(str(stage_id))
        if stage is None or not isinstance(lines, dict):
            why = say("err.examples.no_stage", stage=repr(stage_id)) if stage is None else say("err.examples.lines_shape")
            problems.append(Problem(file=str(path), path=str(stage_id), message=why))
            continue
        for number, sentences in lines.items():
            try:
                index, found = _line_examples(stage.id, number, sentences, stage.line_ids())
            except ValueError as exc:
                problems.append(Problem(file=str(path), path=str(stage_id), message=str(exc)))
                continue
            line = stage.lines[index]
            if isinstance(line, str):
                stage.lines[index] = line = AnyOf(any=[line])
            line.examples += [s for s in found if s not in line.examples]
    return merged, problems



def team_examples_of(script_path: Optional[str | Path]) -> Optional[Path]:
    """The examples file of a script, when it exists."""
    if script_path is None:
        return None
    path = examples_path(script_path)
    return path if path.is_file() else None
