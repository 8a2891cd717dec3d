"""Ranges a number should fall in: the adherence band a level is expected to land in, and the base the team's day
targets share with it (a leaf: pydantic only, so the roster reads it without loading the matcher)."""
from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from compliance.text.catalogue import say


class OrderedRange(BaseModel):
    """``{min: …, max: …}`` with min ≤ max; a subclass declares the fields' bounds and says the error its way."""

    model_config = ConfigDict(extra="forbid")

    min: float
    max: float
    disorder: ClassVar[str] = "err.range.disorder"   # its catalogue key

    @model_validator(mode="after")
    def _ordered(self) -> "OrderedRange":
        if self.min > self.max:
            raise ValueError(say(self.disorder, min=f"{self.min:g}", max=f"{self.max:g}"))
        return self


class Band(OrderedRange):
    """The adherence range (percent) a level is expected to land in."""

    min: float = Field(ge=0, le=100)
    max: float = Field(ge=0, le=100)
    disorder: ClassVar[str] = "err.range.band_disorder"


WHY_LEVELS = ("newcomer", "experienced")


def band_why_key(channel: str, level: str) -> str | None:
    """The catalogue key of the one sentence that says why a call or chat at ``level`` has its band (the pages,
    the command line's result and the CRM note show the same sentence); None for a level the catalogue does not
    explain (a script's own level)."""
    if level not in WHY_LEVELS:
        return None
    return f"band.why.{'chat' if channel == 'chat' else 'call'}.{level}"
