"""A pydantic validation problem in words, in the run's language: the one place that says what a wrong value in
a YAML or JSON file (team.yaml, a script, a transcript, a mapping) means, for the ``file: field: message`` lines.

pydantic's own messages are English; each common kind of problem (its ``type``) has a catalogue text
(``err.value.<type>``) that takes the values pydantic gives (``ctx``). A check of our own (a ``ValueError`` in a
validator) already speaks the run's language and is shown as it is; an unusual kind keeps pydantic's words.
"""
from __future__ import annotations

from typing import Any, Mapping

from compliance.text.catalogue import Said, has, say

# pydantic's types that mean the same thing to a person, said once
_SAME = {"int_type": "int_parsing", "int_from_float": "int_parsing", "float_type": "float_parsing",
         "bool_type": "bool_parsing", "date_parsing": "date_type", "date_from_datetime_parsing": "date_type",
         "date_from_datetime_inexact": "date_type", "dict_type": "model_type", "model_attributes_type": "model_type",
         "date_type": "date_type"}


def describe(err: Mapping[str, Any]) -> str:
    """What is wrong with one value, as ``ValidationError.errors()`` gives it (``type``, ``msg``, ``loc``, ``ctx``)."""
    kind = str(err.get("type", ""))
    ctx = dict(err.get("ctx") or {})
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        if isinstance(error, BaseException) and error.args and isinstance(error.args[0], Said):
            return str(error.args[0])
        return str(err.get("msg", "")).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    kind = _SAME.get(kind, kind)
    if kind == "extra_forbidden":
        loc = err.get("loc") or ("?",)
        return say("err.value.extra_forbidden", key=repr(loc[-1]))
    key = f"err.value.{kind}"
    if has(key):
        values = {name: ctx.get(name, "") for name in ("gt", "ge", "lt", "le", "expected", "pattern", "min_length")}
        values["expected"] = str(values["expected"]).replace(" or ", ", ")   # pydantic joins the last with "or"
        return say(key, **values)
    return str(err.get("msg", ""))


def where(err: Mapping[str, Any]) -> str:
    """The field's path (``managers.ivanova.level``), or the top of the file."""
    return ".".join(str(p) for p in err.get("loc", ())) or say("err.value.top")
