"""Another voice on the manager's channel, told by voice and not only by level (``speech.others``): synthetic voices
(a pulse train through two formant resonators, in syllables), so the rule is checked without a synthesiser."""
from __future__ import annotations

import numpy as np

from compliance.scoring.transcript import Segment, Word
from compliance.speech.channels import _split_background
from compliance.speech.decode import SAMPLE_RATE
from compliance.speech.others import (
    _heard_alone,
    _others_runs,
    channel_voices,
    other_voice_cuts,
    other_voice_gaps,
    other_voice_words,
)

RATE = SAMPLE_RATE


def _voice(seconds: float, f0: float, formants: tuple[float, float], seed: int) -> np.ndarray:
    """A voiced phrase: a glottal pulse train at ``f0`` (with a little jitter, and breath) through two resonators,
    at four syllables a second, at about -20 dBFS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    source = np.zeros(n)
    t = 0.0
    while t < n:
        source[int(t)] = 1.0
        t += RATE / (f0 * (1 + 0.03 * rng.standard_normal()))
    source += 0.02 * rng.standard_normal(n)  # breath: the voice's own noise, between its harmonics
    spectrum = np.fft.rfft(source)
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    for f in formants:  # a resonance 120 Hz wide at each formant
        spectrum = spectrum * (1 / (1 + ((freqs - f) / 60.0) ** 2) + 0.1)
    out = np.fft.irfft(spectrum, n)
    syllables = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * np.arange(n) / RATE) ** 2
    out = out * syllables
    return (out / np.sqrt(np.mean(out ** 2)) * 0.1).astype(np.float32)


MANAGER = dict(f0=115.0, formants=(550.0, 1700.0))
COLLEAGUE = dict(f0=210.0, formants=(850.0, 2500.0))


def _channel(pieces: list[tuple[str, float, float]]) -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """Phrases laid end to end: (who, seconds, dB relative to the manager's level); white noise 60 dB under."""
    parts, spans, t = [], [], 0.0
    for k, (who, seconds, db) in enumerate(pieces):
        voice = _voice(seconds, **(MANAGER if who == "manager" else COLLEAGUE), seed=k) * 10 ** (db / 20)
        parts.append(voice)
        spans.append((t, t + seconds, who))
        t += seconds
    audio = np.concatenate(parts)
    audio += np.random.default_rng(1).normal(0, 0.1 * 10 ** (-60 / 20), len(audio)).astype(np.float32)
    return audio, spans


def _turns(n: int, colleague_db: float | None, quiet_db: float = 0.0) -> list[tuple[str, float, float]]:
    """The manager's phrases (every third ``quiet_db`` quieter), with a colleague in the pauses between them."""
    pieces: list[tuple[str, float, float]] = []
    for k in range(n):
        pieces.append(("manager", 2.0, quiet_db if k % 3 == 2 else 0.0))
        if colleague_db is not None:
            pieces.append(("colleague", 3.0, colleague_db))
    return pieces


def _kept_share(parts: list[tuple[int, int]], spans: list[tuple[float, float, str]], who: str) -> float:
    inside = sum(max(0, min(b, int(e * RATE)) - max(a, int(s * RATE))) for s, e, w in spans if w == who
                 for a, b in parts)
    return inside / sum(int((e - s) * RATE) for s, e, w in spans if w == who)


def test_a_colleague_inside_the_level_gate_is_not_decoded_and_the_manager_is():
    audio, spans = _channel(_turns(8, colleague_db=-5.0))
    everything = [(0, len(audio))]
    voices = channel_voices(audio, everything, everything)
    assert voices is not None and voices.models is not None, voices and voices.separation
    parts = other_voice_cuts(audio, voices, everything)
    assert _kept_share(parts, spans, "manager") > 0.97
    assert _kept_share(parts, spans, "colleague") < 0.5


def test_one_voice_louder_and_quieter_is_one_voice():
    audio, spans = _channel(_turns(8, colleague_db=None, quiet_db=-7.0))  # a third of the phrases said quietly
    everything = [(0, len(audio))]
    voices = channel_voices(audio, everything, everything)
    assert voices is None or voices.models is None, voices.separation
    assert other_voice_cuts(audio, voices, everything) == everything
    words = [(s + 0.1 * k, s + 0.1 * k + 0.3) for s, _e, _w in spans for k in range(3)]
    assert not any(other_voice_words(voices, words))


def test_the_colleagues_words_become_background_and_a_louder_voice_is_never_other():
    audio, spans = _channel(_turns(8, colleague_db=-5.0))
    everything = [(0, len(audio))]
    voices = channel_voices(audio, everything, everything)
    said = [(s + 0.2 + 0.4 * k, s + 0.5 + 0.4 * k, w) for s, e, w in spans for k in range(3)]
    marks = other_voice_words(voices, [(a, b) for a, b, _ in said])
    assert [m for m, (_a, _b, w) in zip(marks, said) if w == "manager"].count(True) == 0
    assert sum(m for m, (_a, _b, w) in zip(marks, said) if w == "colleague") >= 0.8 * 3 * 8
    words = [Word(word=f"w{i}", start=a, end=b, level=-20.0, other_voice=m or None)
             for i, ((a, b, _w), m) in enumerate(zip(said, marks))]
    own, background = _split_background(words, None)   # marked by voice, no level gate
    assert {w.word for w in background} == {w.word for w, m in zip(words, marks) if m} or len(background) >= 18
    assert all(not m for w, m in zip(words, marks) if w in own and w.other_voice)


def test_voices_are_not_judged_without_two_models():
    assert other_voice_words(None, [(0.0, 1.0)]) == [False]
    assert other_voice_cuts(np.zeros(RATE, dtype=np.float32), None, [(0, RATE)]) == [(0, RATE)]
    segment = Segment(text="a b", words=[Word(word="a", start=0, end=1, other_voice=True)])
    assert _split_background(segment.words, None)[1] == []   # one word alone is the speaker's (a run needs 3)


def test_the_gap_pass_leaves_the_colleagues_stretches_and_decodes_the_managers_again():
    audio, spans = _channel(_turns(8, colleague_db=-5.0))        # a colleague 5 dB below, inside the level gate
    everything = [(0, len(audio))]
    voices = channel_voices(audio, everything, everything)
    assert voices is not None and voices.models is not None
    stretches = [(int(s * RATE) + RATE // 4, int(e * RATE) - RATE // 4) for s, e, _w in spans]  # left without words
    kept = other_voice_gaps(voices, stretches)
    whose = {(int(s * RATE) + RATE // 4, int(e * RATE) - RATE // 4): w for s, e, w in spans}
    assert [whose[x] for x in kept].count("manager") == 8              # the manager's skipped turns: decoded again
    assert [whose[x] for x in kept].count("colleague") <= 1            # the colleague's: not
    assert other_voice_gaps(None, stretches) == stretches               # one voice: every stretch, as before


class _Stub:
    """Voices whose verdicts are given per unit: which are the other voice's, which are quiet."""

    level = -20.0

    def __init__(self, other: str, quiet: str) -> None:
        self._other, self._quiet = other, quiet

    def other(self, start: float, end: float) -> bool:
        return self._other[round(start / 0.25)] == "o"

    def unit_level(self, start: float, end: float) -> float:
        return self.level - (10.0 if self._quiet[round(start / 0.25)] == "q" else 0.0)


def _units_of(n: int) -> list[tuple[float, float]]:
    return [(0.25 * k, 0.25 * (k + 1)) for k in range(n)]


def test_a_short_quiet_run_between_the_other_voices_pieces_is_the_other_voices_and_loud_speech_never():
    #            other voice:  o o . . o o L o o . . . . . o   (. kept by voice, L loud)
    voices = _Stub(other="oo..ooLoo.....o", quiet="qqqqqqLqqqqqqqq")
    runs = _others_runs(voices, _units_of(15))  # type: ignore[arg-type]
    assert runs[2:4] == [True, True]          # two quiet units between the other voice's: cut with them
    assert runs[6] is False                    # a loud unit is never cut, whatever is around it
    assert runs[9:14] == [False] * 5           # five quiet units in a row: more than a syllable or two, kept
    assert _others_runs(_Stub(other="....", quiet="qqqq"), _units_of(4)) == [False] * 4  # type: ignore[arg-type]


def test_two_voices_only_where_quiet_speech_is_heard_alone():
    units = _units_of(40)
    syllables = [k % 4 == 3 for k in range(40)]            # the party's quiet syllables, beside loud ones
    assert not _heard_alone(units, syllables)
    pause_filled = [10 <= k < 20 for k in range(40)]         # 2.5 s of quiet speech alone: a voice in the pause
    assert _heard_alone(units, pause_filled)
    apart = [(0.25 * k + (1.0 if k >= 15 else 0.0), 0.25 * (k + 1) + (1.0 if k >= 15 else 0.0)) for k in range(40)]
    assert not _heard_alone(apart, pause_filled)             # two regions' runs are not one run
