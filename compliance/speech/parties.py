"""A one-channel call's two parties: each recognised word labelled by voice (``diarize``), which party is the
manager (script fit, or an enrolled voice print), talk metrics, and a review flag when the split is not sure.

Diarization needs the audio, so it runs where recognition runs and is cached beside the words; the role is
chosen every time a transcript is assembled (it depends on the script, which may be edited).
"""
from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

from compliance.messages import Message
from compliance.scoring.script import SalesScript
from compliance.scoring.transcript import Parties, Segment, Transcript, Word

from .cache import _Recognised
from .channels import (
    ScriptFit,
    _merge_channels,
    _score_alone,
    _script_fit,
    _segment,
    _words,
    measure_talk,
    says_opening,
)
from .diarize import Diarization, DiarizeOptions, diarize

# Script fits this many points apart choose the manager with full confidence; closer, the confidence falls to 0.5.
_FIT_SURE = 30.0
# Below this role confidence the call is flagged: the client's words may be scored as the manager's.
_ROLE_SURE = 0.6
# One voice only: it is the manager's when its speech fits the script at least this much or says the script's opening
# (else a recorded greeting, a client's monologue).
_ONE_VOICE_FIT = 15.0
# A lone manager's voice that fits the script this much is no message left on a machine (one fits about 13 %): it
# asks the questions and makes the offer of a conversation whose other side said too little («да», «угу») to be
# heard apart (heldout10's calls 04 and 15: every line read to a client who only agrees, 40 s and more).
_CONVERSES_FIT = 2 * _ONE_VOICE_FIT
NOT_SEPARATED = "speakers_not_separated"
# what chose the manager, as the mono_diarized note says it
_BY = {"ru": {"script": "по скрипту", "voice": "по записанному голосу", "first": "по первой реплике",
              "lead": "руководителем"},
       "en": {"script": "by the script", "voice": "by the enrolled voice", "first": "by the first words",
              "lead": "by the lead"}}


def diarize_channel(audio: np.ndarray, channel: list[Segment], options: Optional[DiarizeOptions] = None) -> Diarization:
    """The parties of a one-channel call, one label per timed word of ``channel`` (in ``_words`` order)."""
    began = time.perf_counter()
    words = _words(channel)
    result = diarize(audio, [(w.start or 0.0, w.end if w.end is not None else (w.start or 0.0)) for w in words],
                     options)
    result.seconds = round(time.perf_counter() - began, 3)
    return result


def _party_channels(words: list[Word], labels: Sequence[int]) -> list[list[Segment]]:
    """The words of each party as its own "channel": one segment per run of consecutive words."""
    out: list[list[Segment]] = [[], []]
    run: list[Word] = []
    last = 0
    for w, k in zip(words, labels):
        k = max(k, 0)
        if run and k != last:
            out[last].append(_segment(run, "unknown"))
            run = []
        run.append(w)
        last = k
    if run:
        out[last].append(_segment(run, "unknown"))
    return out


def _distance(a: Sequence[float], b: Sequence[float]) -> float:
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(x - y) / np.sqrt(len(x))) if len(x) == len(y) and len(x) else float("inf")


def _voice_distances(voice: Sequence[float], diar: Diarization) -> Optional[list[float]]:
    """How far the enrolled print lies from each party's print of its own kind: a d-vector print (256 numbers,
    ``voiceprint``) by cosine distance, an MFCC print (32, enrolled before the d-vectors) by scaled Euclidean
    distance; None when the call has no print of that kind (a d-vector print on a call split without the encoder)."""
    if len(voice) == len(diar.prints[0] if diar.prints else []) and len(diar.prints) == 2:
        return [_distance(voice, p) for p in diar.prints]
    if len(diar.voice_prints) == 2 and all(len(p) == len(voice) for p in diar.voice_prints):
        v = np.asarray(voice, dtype=float)
        return [1.0 - float(v @ np.asarray(p) / (np.linalg.norm(v) * np.linalg.norm(p) + 1e-9))
                for p in diar.voice_prints]
    return None


def _role(channels: list[list[Segment]], script: Optional[SalesScript], diar: Diarization,
          voice: Optional[Sequence[float]]) -> tuple[int, Parties]:
    """Which party is the manager: by the enrolled voice when it tells them apart, else by script fit, else the
    party that speaks first (the manager calls and greets)."""
    parties = Parties(voices=diar.voices, separation=diar.separation, separated=diar.confident)
    fitted = _script_fit(channels, script) if script is not None else ScriptFit(fits=[-1.0, -1.0], opens=[False] * 2)
    fit, chosen = fitted.fits, fitted.choice()
    parties.fits = [round(f, 1) for f in fit]
    by_script = chosen[0] if chosen else int(fit[1] > fit[0])
    parties.manager, parties.by = by_script, "script"
    parties.confidence = round(min(0.99, 0.5 + fitted.certainty() / (2 * _FIT_SURE)), 2) if chosen else 0.5
    near = _voice_distances(voice, diar) if voice is not None else None
    if near is not None:
        margin = abs(near[0] - near[1]) / max(min(near), 1e-6)
        by_voice = int(near[1] < near[0])
        sure = round(min(0.99, 0.5 + margin), 2)
        if sure > parties.confidence or by_voice == by_script:
            parties.manager, parties.by = by_voice, "voice"
            parties.confidence = round(max(sure, parties.confidence) if by_voice == by_script else sure, 2)
    if chosen is None and parties.by == "script":  # the script cannot tell them apart
        first = min((c[0].start or 0.0, k) for k, c in enumerate(channels) if c)
        parties.manager, parties.by = first[1], "first"
    return parties.manager, parties


def assemble_mono(recognised: _Recognised, transcript: Transcript, script: Optional[SalesScript],
                  voice: Optional[Sequence[float]] = None, swap: bool = False) -> None:
    """Fill ``transcript`` with the diarized turns of a one-channel call, its talk metrics, the role decision and,
    when the parties are not told apart with confidence, the review flag.

    Args:
        voice: the manager's enrolled voice print, when known.
        swap: the lead swapped the parties (the role decision is reversed).
    """
    diar = recognised.diarization
    assert diar is not None
    words = _words(recognised.channels[0])
    labels = diar.labels if len(diar.labels) == len(words) else [0] * len(words)
    channels = _party_channels(words, labels)
    if diar.voices < 2:
        manager, parties = _one_voice(channels, script, diar)
    else:
        manager, parties = _role(channels, script, diar, voice)
    if swap:
        manager, parties.manager, parties.by = 1 - manager, 1 - manager, "lead"
        parties.confidence = 1.0
    transcript.parties = parties
    transcript.segments = _merge_channels(channels, manager)  # a voice apart is a party here, not background
    transcript.talk = measure_talk(channels, manager, transcript.segments, recognised.duration)
    converses = diar.voices == 1 and not swap and parties.manager == (0 if channels[0] else 1) \
        and max(parties.fits) >= _CONVERSES_FIT
    if converses:
        # both parties in one voice's words: scored on all of them, as a call whose speakers are not known, with no
        # talk metrics (nobody's share can be told), and flagged below
        for seg in transcript.segments:
            seg.speaker = "unknown"
        transcript.talk = None
    transcript.note(Message(code="mono_diarized", params={
        "voices": diar.voices, "by_ru": _BY["ru"][parties.by], "by_en": _BY["en"][parties.by],
        "confidence": round(parties.confidence * 100)}))
    if diar.method == "mfcc":
        transcript.note(Message(code="mono_diarized_mfcc"))
    if diar.voices == 2 and not swap and (not diar.confident or parties.confidence < _ROLE_SURE):
        why = "voices" if not diar.confident else "role"
        transcript.flags.append(Message(code=NOT_SEPARATED, params={
            "why": why, "separation": diar.separation, "confidence": parties.confidence}))
    elif diar.voices == 1 and (not diar.confident or converses) and not swap:
        # one voice heard in a short call, or one voice that converses: a second one may have said too little to be
        # told apart
        parties.separated = False
        transcript.flags.append(Message(code=NOT_SEPARATED, params={
            "why": "converses" if converses else "short", "separation": diar.separation,
            "confidence": parties.confidence}))


def _one_voice(channels: list[list[Segment]], script: Optional[SalesScript],
               diar: Diarization) -> tuple[int, Parties]:
    """One voice only: the manager's when it opens as the script opens (the greeting, the introduction) or follows
    the script (a manager talking to an answering machine, to nobody), else the other side's (a recorded greeting,
    music with words, a client's monologue). The empty party keeps the other index."""
    spoken = 0 if channels[0] else 1
    fit, opens = _lone_voice_fit(channels[spoken], script)
    manager = spoken if fit >= _ONE_VOICE_FIT or opens else 1 - spoken
    sure = fit >= 2 * _ONE_VOICE_FIT or fit < 0 or (opens and fit >= _ONE_VOICE_FIT)
    parties = Parties(voices=diar.voices, separation=diar.separation, separated=True, manager=manager, by="script",
                      confidence=0.99 if sure else 0.7,
                      fits=[round(fit, 1), -1.0] if spoken == 0 else [-1.0, round(fit, 1)])
    return manager, parties


def _lone_voice_fit(channel: list[Segment], script: Optional[SalesScript]) -> tuple[float, bool]:
    """A lone voice's script fit (-1: nothing of the script) and whether it says the script's opening stage.

    A manager's voicemail message greets and introduces the company, then asks for a call back: it fits the script
    little (12.7 % on the mono set's, below ``_ONE_VOICE_FIT``) but opens as the manager opens; a client answering
    «алло, слушаю» or telling their request says no opening."""
    if script is None or not channel:
        return -1.0, False
    result = _score_alone(channel, script)
    fit = result.adherence if result.adherence is not None else -1.0
    return fit, says_opening(result, script)
