"""The gettext message catalogue: ``compliance/locale/{ru,en}/LC_MESSAGES/compliance.po``, read through the stdlib.

A msgid is a stable key (``cli.batch.help``), the msgstr the text in that language; counts use plural entries
(``ngettext``). The ``.po`` files are the source kept in git; the compiled ``.mo`` files are not: the first use of
a language compiles its ``.po`` with Babel into the user cache (``$COMPLIANCE_CACHE_DIR/locale``, one file per
content hash, written atomically), and every later start loads that ``.mo`` with the stdlib ``gettext`` module,
which is fast. Where the cache cannot be written the catalogue is compiled in memory.

The language of the command line is chosen once at start-up (``--lang``, else ``COMPLIANCE_LANG``, else Russian)
and held here, so texts made anywhere in the run speak it.
"""
from __future__ import annotations

import gettext as _gettext
import hashlib
import io
import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional

from compliance.resources import cache_root

LANGUAGES = ("ru", "en")
DEFAULT = "ru"
ENV = "COMPLIANCE_LANG"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "compliance"

_current: Optional[str] = None   # chosen for a run; None: from the environment


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def choose_language(argv: Iterable[str], env: Mapping[str, str]) -> str:
    """The language a run speaks: the last ``--lang X`` / ``--lang=X`` of its arguments, else ``COMPLIANCE_LANG``,
    else Russian. An unknown value is left for the option to reject; the texts meanwhile stay Russian."""
    args = list(argv)
    chosen: Optional[str] = None
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            chosen = args[i + 1]
        elif arg.startswith("--lang="):
            chosen = arg.partition("=")[2]
    if chosen is None:
        chosen = env.get(ENV, "").strip().lower() or None
    return chosen if chosen in LANGUAGES else DEFAULT


def use(lang: Optional[str]) -> None:
    """Make ``lang`` the language of this run's texts (None: the environment's again, when the run ends)."""
    global _current
    _current = None if lang is None else (lang if lang in LANGUAGES else DEFAULT)


@contextmanager
def speaking(lang: Optional[str]) -> Iterator[None]:
    """Speak ``lang`` for a while (a task a worker runs for a run in that language), then as before."""
    global _current
    before = _current
    use(lang)
    try:
        yield
    finally:
        _current = before


def current() -> str:
    """The run's language; outside a run (a command called on its own, a library user) the environment's."""
    return _current or choose_language((), os.environ)


def _cache_dir() -> Path:
    return cache_root() / "locale"


def _compile(po: bytes, lang: str) -> bytes:
    """The ``.mo`` bytes of a ``.po`` file (Babel: only on the first use of a catalogue version)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = read_po(io.BytesIO(po), locale=lang, domain=DOMAIN)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@lru_cache(maxsize=None)
def translations(lang: str) -> _gettext.GNUTranslations:
    """The compiled catalogue of ``lang``, from the cache when this version of its ``.po`` was compiled before."""
    po = po_path(lang).read_bytes()
    digest = hashlib.sha1(po).hexdigest()[:16]
    cached = _cache_dir() / f"{DOMAIN}-{lang}-{digest}.mo"
    try:
        with cached.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    except (OSError, EOFError, UnicodeDecodeError):
        pass
    mo = _compile(po, lang)
    try:
        from compliance.files import write_atomic

        cached.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cached, mo)
    except OSError:
        pass  # a read-only home: the catalogue still works, compiled again next time
    return _gettext.GNUTranslations(io.BytesIO(mo))


def has(key: str, lang: Optional[str] = None) -> bool:
    """Whether ``key`` has a text in ``lang``."""
    return translations(lang or current()).gettext(key) != key


def text(key: str, lang: Optional[str] = None, /, **values: Any) -> str:
    """The text of ``key`` in ``lang`` (default: the run's), formatted with ``values``.

    A key with no text is returned as it is, so a missing text shows up (a test walks every key)."""
    template = translations(lang or current()).gettext(key)
    return template.format(**values) if values else template


class Said(str):
    """A catalogue text as a plain string in the language it was made in, that remembers its key and values so it
    can be said again in another (an engine error raised in a Russian run, shown on an English page). Values that
    are ``Said`` themselves are said again too."""

    key: str
    values: dict[str, Any]

    def __new__(cls, key: str, lang: Optional[str] = None, /, **values: Any) -> "Said":
        made = super().__new__(cls, text(key, lang, **values))
        made.key, made.values = key, values
        return made

    def __reduce__(self) -> Any:   # a worker process sends errors back pickled: the key and values go too
        return (_said_again, (self.key, str(self), self.values))

    def in_language(self, lang: str) -> str:
        """The same text in ``lang``."""
        return text(self.key, lang, **{k: in_language(v, lang) for k, v in self.values.items()})


def _said_again(key: str, shown: str, values: dict[str, Any]) -> Said:
    made = str.__new__(Said, shown)
    made.key, made.values = key, values
    return made


def say(key: str, /, **values: Any) -> Said:
    """The text of ``key`` in the run's language, formatted with ``values``, that can be said again in another
    language (``in_language``): what the engine's errors are made of."""
    return Said(key, None, **values)


def in_language(message: Any, lang: str) -> Any:
    """``message`` in ``lang`` when it is a catalogue text (an error's first argument, a value of one); anything
    else as it is."""
    if isinstance(message, BaseException) and message.args and isinstance(message.args[0], Said):
        return message.args[0].in_language(lang)
    return message.in_language(lang) if isinstance(message, Said) else message


def plural(key: str, n: int, lang: Optional[str] = None, /, **values: Any) -> str:
    """The text of ``key`` in the plural form that goes with ``n`` (``{n}`` is filled in too)."""
    template = translations(lang or current()).ngettext(key, key, n)
    return template.format(n=n, **values)


def keys(lang: str) -> list[str]:
    """Every msgid of ``lang``'s catalogue with a text (plural entries once)."""
    catalog = translations(lang)._catalog  # type: ignore[attr-defined]  # the stdlib keeps them there
    return sorted({k if isinstance(k, str) else k[0] for k in catalog if k})
