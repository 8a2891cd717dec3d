"""What the engine says to people, as codes with values, rendered in the reader's language.

The engine decides (a call did not connect, a newcomer is not ready yet) and records *why* as a ``Message``: a
code and its values. Text is made only when someone reads it: Russian for the CLI and stored results, and the
report's language in reports, so an English report holds no Russian but names, script lines and transcripts.

The texts live in the gettext catalogue (``compliance/locale/{ru,en}/LC_MESSAGES/compliance.po``), msgid = the
code (snake_case, no dots); a count picks its word with ``{n:plural:слово|слова|слов}`` (``text.plural``).
"""
from __future__ import annotations

import re
from typing import Iterator, Mapping, Union

from pydantic import BaseModel, Field

from compliance.text import catalogue
from compliance.text.plural import format_message

_CODE = re.compile(r"[a-z0-9_]+")


class _Texts(Mapping[str, str]):
    """The message texts of one language, read from the gettext catalogue (a read-only mapping)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __getitem__(self, code: str) -> str:
        if not _CODE.fullmatch(code) or not catalogue.has(code, self.lang):
            raise KeyError(code)
        return catalogue.text(code, self.lang)

    def __iter__(self) -> Iterator[str]:
        # click's own one-word msgids ("required", "file") are English in the English catalogue: not codes
        return (key for key in catalogue.keys(self.lang) if _CODE.fullmatch(key) and catalogue.has(key, "en"))

    def __len__(self) -> int:
        return sum(1 for _ in self)


TEXTS: dict[str, Mapping[str, str]] = {lang: _Texts(lang) for lang in catalogue.LANGUAGES}


class Message(BaseModel):
    """Why the engine decided something: a code of ``TEXTS`` and the values its text needs."""

    code: str
    params: dict[str, Union[str, int, float]] = Field(default_factory=dict)

    def text(self, lang: str = "ru") -> str:
        """The message in ``lang`` (Russian when the language or the code is unknown to it)."""
        texts = TEXTS.get(lang, TEXTS["ru"])
        template = texts.get(self.code) or TEXTS["ru"].get(self.code)
        if template is None:
            return str(self.params.get("text", self.code))
        return format_message(template, lang if lang in TEXTS else "ru", **self.params)


def render(message: Union[Message, str, None], lang: str = "ru") -> str:
    """A message as text; plain text (stored by an older version) is shown as it is."""
    if message is None:
        return ""
    return message.text(lang) if isinstance(message, Message) else str(message)
