"""Plural forms in message templates, by each language's CLDR rules (Babel): «1 слово», «3 слова», «5 слов».

A template names the forms after the value: ``{words} {words:plural:слово|слова|слов}`` (Russian: one, few,
many) or ``{words} {words:plural:word|words}`` (English: one, other). Every other field formats as ``str.format``.
"""
from __future__ import annotations

import string
from functools import lru_cache
from typing import Any

# Babel's plural categories → the index of a form in a template's list (ru: one, few, many; en: one, other).
PLURAL_INDEX = {"ru": {"one": 0, "few": 1, "many": 2, "other": 2}, "en": {"one": 0, "other": 1}}


@lru_cache(maxsize=8)
def _rule(lang: str):
    from babel import Locale

    return Locale.parse(lang).plural_form


def plural_form(n: float, forms: list[str] | tuple[str, ...], lang: str) -> str:
    """The form of a word that goes with ``n`` in ``lang``, from its forms in the order of ``PLURAL_INDEX``."""
    category = _rule(lang)(abs(int(n)))
    index = PLURAL_INDEX.get(lang, PLURAL_INDEX["en"]).get(category, len(forms) - 1)
    return forms[min(index, len(forms) - 1)]


class _PluralFormatter(string.Formatter):
    def __init__(self, lang: str) -> None:
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith("plural:"):
            return plural_form(float(value), format_spec.removeprefix("plural:").split("|"), self.lang)
        return super().format_field(value, format_spec)


def format_message(template: str, lang: str, **values: Any) -> str:
    """``template.format(**values)``, with ``{n:plural:…}`` fields chosen by ``lang``'s plural rules."""
    return _PluralFormatter(lang).format(template, **values)
