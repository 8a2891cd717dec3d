"""Numbers as people write them in each language (Babel, from CLDR): ``45 000``, ``87,5`` / ``45,000``, ``87.5``."""
from __future__ import annotations

from babel.numbers import format_decimal


def format_number(value: float, lang: str = "ru", digits: int = 0) -> str:
    """``value`` with ``digits`` decimals, grouped and punctuated as ``lang`` does it."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=lang)
