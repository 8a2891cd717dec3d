"""The report and review strings, in Russian (default) and English, plus number and date formatting.

The strings live in the one gettext catalogue, ``compliance/locale/{ru,en}/LC_MESSAGES/compliance.po``: a report
key is a dotted msgid outside ``cli.`` (``call.heading``, ``review.disputes``). Templates call
``_("key", **values)``; a key missing from the catalogue is an error, not silent English, so a test can prove both
languages are complete.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Iterator, Mapping, Optional

from compliance.errors import ReportError
from compliance.text import catalogue
from compliance.text.formats import format_number
from compliance.text.plural import plural_form

LANGUAGES = ("ru", "en")


def is_report_key(key: str) -> bool:
    """Whether a catalogue msgid is a report string (dotted, not the command line's, not click's own words)."""
    return "." in key and not key.startswith("cli.") and " " not in key and key == key.lower()


class _Strings(Mapping[str, str]):
    """The report strings of one language, read from the gettext catalogue (a read-only mapping)."""

    def __init__(self, lang: str) -> None:
        self.lang = lang

    def __getitem__(self, key: str) -> str:
        if not is_report_key(key) or not catalogue.has(key, self.lang):
            raise KeyError(key)
        return catalogue.text(key, self.lang)

    def __iter__(self) -> Iterator[str]:
        return (key for key in catalogue.keys(self.lang) if is_report_key(key))

    def __len__(self) -> int:
        return sum(1 for _ in self)


CATALOGUE: dict[str, Mapping[str, str]] = {lang: _Strings(lang) for lang in LANGUAGES}

_PLURALS = {
    "ru": {"calls": ("звонок", "звонка", "звонков")},
    "en": {"calls": ("call", "calls", "calls")},
}
_NBSP = "\u00a0"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class Translator:
    """The strings and number/date formats of one language; callable as ``_("key", **values)``."""

    def __init__(self, lang: str = "ru") -> None:
        if lang not in CATALOGUE:
            raise ReportError(catalogue.say("err.reports.language", lang=repr(lang), known=", ".join(LANGUAGES)))
        self.lang = lang
        self.strings = CATALOGUE[lang]

    def __call__(self, key: str, **values: object) -> str:
        try:
            text = self.strings[key]
        except KeyError:
            raise ReportError(f"no {self.lang!r} text for {key!r} in compliance/locale/{self.lang}/LC_MESSAGES/"
                              "compliance.po") from None
        return text.format(**values) if values else text

    def placeholder(self, name: str) -> str:
        """What a script placeholder (``{client}``) is called, for showing script lines."""
        return self.strings.get(f"ph.{name}", "{" + name + "}")

    def script_text(self, text: str) -> str:
        """A script line with its placeholders named: ``Добрый день, ‹имя клиента›!``."""
        return _PLACEHOLDER.sub(lambda m: "‹" + self.placeholder(m.group(1)) + "›", text)

    def number(self, value: Optional[float], digits: int = 0) -> str:
        return "—" if value is None else format_number(value, self.lang, digits)

    def percent(self, value: Optional[float], digits: int = 0) -> str:
        """``87,5 %`` in Russian, ``87.5%`` in English."""
        if value is None:
            return "—"
        return self.number(value, digits) + (_NBSP + "%" if self.lang == "ru" else "%")

    def signed(self, value: Optional[float], digits: int = 1) -> str:
        if value is None:
            return "—"
        sign = "+" if value > 0 else ("−" if value < 0 else "±")
        return sign + self.number(abs(value), digits)

    def clock(self, seconds: Optional[float]) -> str:
        """``m:ss`` (or ``h:mm:ss``) for a time or a length in seconds."""
        if seconds is None:
            return ""
        total = int(max(0.0, seconds))
        h, rest = divmod(total, 3600)
        m, s = divmod(rest, 60)
        return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"

    duration = clock

    def date_long(self, value: Optional[str]) -> str:
        """``27 ноября 2026`` / ``27 November 2026`` from an ISO date (other text is shown as is)."""
        day = self._parse(value)
        if day is None:
            return value or ""
        from babel.dates import format_date  # late: `compliance report --help` reads LANGUAGES without Babel

        return format_date(day, "d MMMM y", locale=self.lang)

    def date_short(self, value: Optional[str]) -> str:
        """``27.11.2026`` / ``27 Nov 2026``."""
        day = self._parse(value)
        if day is None:
            return value or ""
        from babel.dates import format_date

        return format_date(day, "dd.MM.y" if self.lang == "ru" else "d MMM y", locale=self.lang)

    def plural(self, n: int, word: str) -> str:
        """The form of ``word`` (a plural key such as ``calls``) that goes with ``n``."""
        return plural_form(n, _PLURALS[self.lang][word], self.lang)

    @staticmethod
    def _parse(value: Optional[str]) -> Optional[dt.date]:
        try:
            return dt.date.fromisoformat(str(value)[:10]) if value else None
        except ValueError:
            return None
