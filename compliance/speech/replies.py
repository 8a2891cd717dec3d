"""A client who only answers («да», «угу», «хорошо»): their pieces of speech are too short for the d-vectors'
clustering (``diarize``), which then hears one voice. Heard together, a few of them say as much about a voice as a
phrase does."""
from __future__ import annotations

from typing import Optional

import numpy as np

from .decode import SAMPLE_RATE
from .voice_encoder import VoiceEncoder


def short_replies(encoder: VoiceEncoder, audio: np.ndarray, times: list[tuple[float, float]], vectors: np.ndarray,
                  solid: np.ndarray, pieces: int, seconds: float, voice: float) -> Optional[tuple[np.ndarray, float]]:
    """The short pieces that are another voice's replies, when the clustering heard one voice: which pieces (a mask
    over ``times``), and the cosine of their voice to the main one's; None when there is no other voice.

    The pieces not ``solid`` (shorter than the clustering's minimum) that sound farther from the main voice than its
    own long pieces do (their median cosine less 0.2) are heard as one stretch; then every short piece nearer that
    stretch's voice than the main one's is taken and heard together again. With ``pieces`` of them or more, lasting
    ``seconds`` or more, a cosine below ``voice`` is another voice."""
    short = ~solid
    if solid.sum() < 2 or short.sum() < pieces:
        return None
    main = vectors[solid].mean(axis=0)
    main = main / (np.linalg.norm(main) + 1e-9)
    near = vectors @ main
    picked = short & (near < float(np.median(near[solid])) - 0.2)
    if not picked.any():
        return None
    clips = [audio[int(a * SAMPLE_RATE):int(b * SAMPLE_RATE)] for a, b in times]
    other = encoder.embed([np.concatenate([c for c, k in zip(clips, picked) if k])])[0]
    picked = short & (vectors @ other > near)
    heard = sum(b - a for (a, b), k in zip(times, picked) if k)
    if picked.sum() < pieces or heard < seconds:
        return None
    other = encoder.embed([np.concatenate([c for c, k in zip(clips, picked) if k])])[0]
    cosine = float(other @ main)
    return (picked, cosine) if cosine < voice else None
