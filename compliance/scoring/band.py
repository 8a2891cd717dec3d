"""The adherence band a level is expected to land in (a leaf: pydantic only, so the roster reads it without loading
the matcher)."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Band(BaseModel):
    """The adherence range (percent) a level is expected to land in."""

    model_config = ConfigDict(extra="forbid")

    min: float = Field(ge=0, le=100)
    max: float = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> "Band":
        if self.min > self.max:
            raise ValueError(f"min ({self.min:g}) is greater than max ({self.max:g})")
        return self
