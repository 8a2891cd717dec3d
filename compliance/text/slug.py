"""Safe file names from untrusted text: manager names, call ids.

A slug is lowercase ASCII letters, digits and single hyphens, never empty, never ``.``/``..``,
never a Windows device name, so it is safe as one path component on any file system.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable

# Russian and Ukrainian letters, transliterated the way people write names in Latin letters.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch",
    "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya",
    "і": "i", "ї": "yi", "є": "ye", "ґ": "g", "ў": "u",
}
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
MAX_LENGTH = 60


def transliterate(text: str) -> str:
    """Latin letters for Cyrillic ones; other accents dropped (``Ірина Ёлкина`` → ``irina elkina``)."""
    out = []
    for char in text.lower():
        if char in _CYRILLIC:
            out.append(_CYRILLIC[char])
        else:
            out.append(unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii"))
    return "".join(out)


def slugify(text: str, fallback: str = "item") -> str:
    """One safe path component for ``text``: ``"Иванова Мария"`` → ``"ivanova-mariya"``.

    ``../``, slashes, spaces and anything else outside ``[a-z0-9]`` become single hyphens;
    an empty result becomes ``fallback``.
    """
    slug = _NOT_ALNUM.sub("-", transliterate(text or "")).strip("-")
    slug = slug[:MAX_LENGTH].rstrip("-") or fallback
    if slug in _RESERVED:
        slug += "-x"
    return slug


def unique_slugs(keys: Iterable[str], fallback: str = "item") -> dict[str, str]:
    """A distinct slug for each distinct key; later collisions get ``-2``, ``-3``, …

    Keys are taken in sorted order, so the same set of keys always gets the same slugs.
    """
    taken: set[str] = set()
    out: dict[str, str] = {}
    for key in sorted(set(keys)):
        base = slugify(key, fallback)
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        out[key] = slug
    return out
