"""Numbers as people write them in each language (Babel, from CLDR): ``45 000``, ``87,5`` / ``45,000``, ``87.5``."""
from __future__ import annotations

import datetime as dt


def format_number(value: float, lang: str = "ru", digits: int = 0) -> str:
    """``value`` with ``digits`` decimals, grouped and punctuated as ``lang`` does it."""
    from babel.numbers import format_decimal  # Babel loads its locale data: only when a number is written

    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=lang)


def load_babel() -> None:
    """Import now the parts of Babel that this project otherwise imports only when first needed.

    A server calls this before its threads start. Babel's package and its ``core`` module import each other; two
    threads importing them for the first time at the same moment can each be handed the other's half-made
    module, and a page fails with an ImportError (seen under load: fifty clients logging in at once).
    """
    import babel.core  # noqa: F401
    import babel.dates  # noqa: F401
    import babel.numbers  # noqa: F401


def message_time(started: str, offset: float) -> str:
    """A chat message's own time from the chat's start (ISO) and its offset in seconds: ``10:03``, or
    ``03.01 10:03`` on a later day than the chat's first message."""
    base = dt.datetime.fromisoformat(started)
    at = base + dt.timedelta(seconds=offset)
    return f"{at:%H:%M}" if at.date() == base.date() else f"{at:%d.%m %H:%M}"
