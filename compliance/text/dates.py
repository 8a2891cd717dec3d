"""Days as people write them: ``2026-11-27``, ``27.11.2026``, ``27.11.26``, «сегодня», «вчера», ``yesterday``.

One home for reading a day a person typed (command options) or a folder was named after (the batch's layout).
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

# Folder and option formats, the most common first. Two-digit years only with dots (27.11.26), as people type them.
DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%d.%m.%Y", "%Y.%m.%d", "%Y_%m_%d", "%d.%m.%y", "%d/%m/%Y")

# Words for a day relative to today, in the languages the product speaks. Calls and reports are about days that
# have been: no «завтра».
_RELATIVE = {
    "сегодня": 0, "today": 0,
    "вчера": -1, "yesterday": -1,
    "позавчера": -2,
}


def parse_date(text: str) -> Optional[str]:
    """An ISO date for ``2026-11-27``, ``20261127``, ``27.11.2026``, ``27.11.26``…; None when it is not a date."""
    text = text.strip()
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def parse_day(text: str, today: Optional[dt.date] = None) -> Optional[dt.date]:
    """A day from what a person typed: a date in any of ``DATE_FORMATS`` or a relative word («вчера»).

    Args:
        text: what was typed.
        today: the day relative words count from (default: the local date).

    Returns:
        The day, or None when ``text`` is not a day.
    """
    word = text.strip().lower().replace("ё", "е")
    if word in _RELATIVE:
        return (today or dt.date.today()) + dt.timedelta(days=_RELATIVE[word])
    iso = parse_date(word)
    return dt.date.fromisoformat(iso) if iso else None


def shown_day(iso: str, lang: str) -> str:
    """A day as a person of ``lang`` writes it and can type it back to ``--date``: ``27.11.2026`` / ``2026-11-27``."""
    iso_day = parse_date(iso)
    if iso_day is None:
        return iso
    return dt.date.fromisoformat(iso_day).strftime("%d.%m.%Y") if lang == "ru" else iso_day
