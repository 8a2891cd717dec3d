"""The transcript cache: what was recognised, keyed by audio content, model and options."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, Field, ValidationError

from compliance.files import write_atomic
from compliance.messages import Message
from compliance.scoring.quality import ChannelQuality
from compliance.scoring.transcript import Segment

from .diarize import Diarization
from .engine import PIPELINE_VERSION, TranscribeOptions, _Resolved


class _Recognised(BaseModel):
    """What the cache keeps: each channel's words, before speakers are assigned."""

    version: int = PIPELINE_VERSION
    key: str
    audio_sha256: str
    channels: list[list[Segment]]
    duration: float
    language: Optional[str] = None
    model: str
    notes: list[Message] = Field(default_factory=list)  # what decoding noted (a cache from before: re-recognised)
    dropped: int = 0
    diarization: Optional[Diarization] = None  # a one-channel call's parties (added to an older cache on first use)
    quality: list[ChannelQuality] = Field(default_factory=list)  # per channel, unrated (a cache from before: none)


def _cache_key(digest: str, resolved: _Resolved, options: TranscribeOptions) -> str:
    payload = json.dumps({"audio": digest, "model": resolved.identity, "options": options.cache_key()},
                         sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:40]


def _read_cache(path: Path, key: str) -> Optional[_Recognised]:
    try:
        cached = _Recognised.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None  # missing or damaged: recognise again and overwrite
    return cached if cached.key == key and cached.version == PIPELINE_VERSION else None


def _write_cache(path: Path, recognised: _Recognised) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, recognised.model_dump_json())
    except OSError:
        pass  # a read-only cache only costs time, never a result
