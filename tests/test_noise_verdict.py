"""Noisy rooms (issue 27, point 2): what the recogniser was unsure of is shown as uncertain, and the call's flag follows
from whether that could change its verdict.

Made-up transcripts with word probabilities (the same builders as ``test_noise.py``); the real model runs in
``test_noise_real.py``.
"""
from __future__ import annotations

from compliance.messages import Message
from compliance.scoring.confidence import NOISY_RUN, UNSURE_RUN, VERDICT_UNCERTAIN, unsure_stretches
from compliance.scoring.result import ForbiddenHit
from compliance.scoring.score import score_call
from compliance.scoring.transcript import Segment, Transcript
from compliance.speech.assemble import assemble_transcript
from compliance.speech.engine import TranscribeOptions

from .test_noise import GREETING, MANAGER_REST, SCRIPT, WORDS_ONLY, _dialogue, _recognised, _typed, _words

# What a greeting sounds like to the recogniser when a colleague talks over it: no script words left.
GARBLED = "абы вагу дено ольга мера зуд ива кампа сма мей вам удо"


def _call(opening: str, probability: float, scattered: bool = False) -> Transcript:
    """The manager opens with ``opening`` at ``probability``, then says the rest of the script clearly (every
    fifth word of it unsure when ``scattered``); the client answers between the manager's turns."""
    manager, client = _dialogue(MANAGER_REST, 20.0, -20.0)
    if scattered:
        for i, w in enumerate(manager):
            w.probability = 0.3 if i % 5 == 0 else 0.95
    manager = _words(opening, 0.0, -20.0, probability) + manager
    return assemble_transcript(_recognised(manager, client), "x.ogg", TranscribeOptions(manager_channel="left"), SCRIPT)


def _codes(flags) -> list[str]:
    return [f.code for f in flags]


def test_unsure_stretches_are_runs_of_the_managers_unsure_words_over_turns():
    def said(text: str, start: float, probability: float, speaker: str) -> Segment:
        ws = _words(text, start, -20.0, probability)
        return Segment(text=text, speaker=speaker, start=ws[0].start, end=ws[-1].end, words=ws)  # type: ignore[arg-type]

    transcript = Transcript(segments=[
        said("раз два", 0.0, 0.3, "manager"),
        said("да да да да да", 2.0, 0.1, "client"),        # the client's unsure words are not the manager's
        said("три четыре", 5.0, 0.3, "manager"),            # … and do not break the manager's run
        said("ясно", 7.0, 0.9, "manager"),
        said("пять шесть семь", 8.0, 0.2, "manager"),       # shorter than a run
    ])
    assert UNSURE_RUN == 4
    assert unsure_stretches(transcript) == [(0.0, 5.7)]
    transcript.segments[3].words[0].probability = 0.2       # now one run of nine
    assert unsure_stretches(transcript) == [(0.0, 9.1)]
    typed = Transcript(segments=[Segment(text="раз два три четыре пять", speaker="manager")])
    assert unsure_stretches(typed) == []                    # typed text: no words, nothing unsure


def test_a_stage_credited_only_in_unsure_words_flags_the_verdict_it_holds_up():
    transcript = _typed(0.3, 0.95, "good")                  # the greeting heard with probability 0.3
    result = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    greeting = next(s for s in result.stages if s.id == "greeting")
    assert greeting.present and greeting.uncertain
    assert result.verdict == "above"                        # credited, the call meets the band …
    assert _codes(result.flags) == [VERDICT_UNCERTAIN]      # … but without it, it would not: for the lead to check
    assert result.flags[0].detail == "stages: greeting"
    assert Message(code=VERDICT_UNCERTAIN) in result.messages
    assert "неуверенно" in Message(code=VERDICT_UNCERTAIN).text("ru")
    assert "low confidence" in Message(code=VERDICT_UNCERTAIN).text("en")

    below = score_call(_typed(0.3, 0.95, "good"), SCRIPT, "newcomer", WORDS_ONLY)
    assert below.verdict == "below" and below.stages[0].uncertain
    assert below.flags == []                                # below the band either way: nothing to decide

    sure = score_call(_typed(0.95, 0.95, "good"), SCRIPT, "experienced", WORDS_ONLY)
    assert sure.verdict == "above" and sure.flags == [] and not any(s.uncertain for s in sure.stages)


def test_a_required_stage_not_found_in_unsure_words_is_uncertain_not_silently_missed():
    result = score_call(_call(GARBLED, 0.3), SCRIPT, "experienced", WORDS_ONLY)
    greeting = next(s for s in result.stages if s.id == "greeting")
    assert not greeting.present and greeting.uncertain      # not found where the words were not heard clearly
    assert result.verdict == "below"                        # a required stage missing …
    assert _codes(result.flags) == [VERDICT_UNCERTAIN]      # … that may well have been said: flagged
    # and the needs stage, said in part from the same unsure words: its other lines may be lost there too
    assert [s.id for s in result.stages if s.uncertain] == ["greeting", "needs"]

    heard = score_call(_call(GARBLED, 0.95), SCRIPT, "experienced", WORDS_ONLY)
    assert heard.verdict == "below"                         # heard clearly and not a greeting: missed, no doubt
    assert not any(s.uncertain for s in heard.stages) and heard.flags == []


def test_scattered_unsure_words_on_a_clear_call_raise_nothing():
    result = score_call(_call(GREETING, 0.95, scattered=True), SCRIPT, "experienced", WORDS_ONLY)
    assert result.verdict == "above"
    assert not any(s.uncertain for s in result.stages) and result.flags == []


def _with_phrase(phrase: str, probability: float) -> Transcript:
    transcript = _call(GREETING, 0.95)
    words = _words(phrase, 95.0, -20.0, probability)
    transcript.segments.append(Segment(text=phrase, speaker="manager", start=95.0, end=words[-1].end, words=words))
    return transcript


def test_a_critical_phrase_heard_in_unsure_words_is_held_and_flags_the_call():
    held = score_call(_with_phrase("это не моя проблема", 0.2), SCRIPT, "experienced", WORDS_ONLY)
    assert [(h.severity, h.uncertain) for h in held.forbidden] == [("critical", True)]
    assert held.critical == [] and held.verdict == "above"  # shown, not charged …
    assert _codes(held.flags) == [VERDICT_UNCERTAIN]        # … and charged it would put the call below: flagged
    assert held.flags[0].detail == "phrases: это не моя проблема"

    charged = score_call(_with_phrase("это не моя проблема", 0.95), SCRIPT, "experienced", WORDS_ONLY)
    assert charged.verdict == "below" and charged.flags == []


def test_on_a_call_rated_poor_even_a_clearly_heard_phrase_is_held():
    # In a room of voices a colleague's «я же вам говорил» can come out clear: on a call whose recognition is poor
    # no phrase is charged before the lead confirms it, as no stage missing there is taken as missed.
    transcript = _with_phrase("это не моя проблема", 0.95)
    assert transcript.quality is not None
    transcript.quality.rating = "poor"
    held = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert [(h.severity, h.uncertain) for h in held.forbidden] == [("critical", True)]
    assert held.critical == [] and held.verdict == "above"
    assert _codes(held.flags) == ["poor_recognition", VERDICT_UNCERTAIN]


def test_a_held_minor_phrase_that_cannot_move_the_verdict_raises_no_flag():
    result = score_call(_with_phrase("ну короче", 0.2), SCRIPT, "experienced", WORDS_ONLY)
    assert [h.uncertain for h in result.forbidden] == [True] and result.forbidden_penalty == 0
    assert result.verdict == "above" and result.flags == []  # 3 points off would leave it above the band


def test_the_flag_is_kept_once_and_beside_poor_recognition():
    transcript = _typed(0.3, 0.95, "poor")
    result = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert _codes(result.flags) == ["poor_recognition", VERDICT_UNCERTAIN]
    again = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert _codes(again.flags) == _codes(result.flags)



def test_in_a_noisy_room_a_shorter_unsure_run_makes_a_stage_not_found_uncertain():
    transcript = _call(GARBLED, 0.95)                        # every word heard clearly, no greeting among them
    assert transcript.quality is not None and transcript.quality.channels[0].speaker == "manager"
    transcript.quality.channels[0].snr_db = 14.0             # a colleague 10 dB below: the room measured 13-17 dB
    clear = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert not any(s.uncertain for s in clear.stages) and clear.flags == []  # heard clearly in the noise: no doubt

    words = transcript.segments[0].words
    assert UNSURE_RUN > NOISY_RUN == 2
    for w in words[:NOISY_RUN]:                              # two words in a row lost in the noise
        w.probability = 0.3
    result = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert [s.id for s in result.stages if s.uncertain] == ["greeting", "needs"]  # needs: said there in part
    assert result.verdict == "below" and _codes(result.flags) == [VERDICT_UNCERTAIN]

    transcript.quality.channels[0].snr_db = 40.0             # a quiet room: two unsure words are no stretch
    quiet = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert not any(s.uncertain for s in quiet.stages) and quiet.flags == []

    transcript.quality.channels[0].snr_db = 11.0             # one channel: the other party is what is under the
    transcript.quality.channels[0].speaker = "unknown"       # speaker, not a room
    mono = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert not any(s.uncertain for s in mono.stages) and mono.flags == []


def test_the_call_page_says_why_the_verdict_waits():
    from compliance.reports.call_page import build_call_page
    from compliance.reports.render import make_environment, render_call_page
    from compliance.scoring.result import CallRecord

    transcript = _call(GARBLED, 0.3)
    result = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    record = CallRecord(call_id="c1", file="x.ogg", manager="ivanova", result=result, transcript=transcript)
    assert record.awaiting_review                            # not counted toward readiness until the lead decides
    page = build_call_page(record, SCRIPT)
    assert [f.code for f in page.flags] == [VERDICT_UNCERTAIN]
    for lang, words in (("ru", "вердикт зависит от неуверенно распознанных слов"),
                        ("en", "the verdict rests on words recognised with low confidence")):
        assert words in render_call_page(page, make_environment(lang))


def test_evidence_found_and_not_credited_in_a_noisy_room_is_uncertain():
    from compliance.scoring.confidence import _stage_uncertain
    from compliance.scoring.result import StageResult

    def stages(notes: list[Message], score: float = 100.0) -> list[StageResult]:
        return [StageResult(id="greeting", score=score, present=True, start=0.0),
                StageResult(id="payment", score=0.0, present=False, notes=notes),   # a question, its mark lost?
                StageResult(id="farewell", score=100.0, present=True, start=30.0)]

    empty = Transcript(segments=[])
    dropped = stages([Message(code="stage_not_the_act")])
    assert _stage_uncertain(dropped, 1, empty, False, [], noisy=True)       # found, then not credited, in noise
    assert not _stage_uncertain(dropped, 1, empty, False, [], noisy=False)  # a quiet room: the check stands
    assert not _stage_uncertain(stages([]), 1, empty, False, [], noisy=True)  # nothing found: no doubt without words
    # a stage said in part is in doubt where an unsure stretch lies after its start, before the next stage said
    partial = stages([], score=60.0)
    assert _stage_uncertain(partial, 0, empty, False, [(10.0, 11.0)], noisy=True)
    assert not _stage_uncertain(partial, 0, empty, False, [(31.0, 32.0)], noisy=True)
    assert not _stage_uncertain(stages([]), 0, empty, False, [(10.0, 11.0)], noisy=True)  # said in full


def _misheard_payment(snr_db: float, swing_db: float | None) -> Transcript:
    """The payment question said as the script has it, heard with a letter wrong and a full stop for its question
    mark (as the voices set's «Аплату будете вносить сразу или частями.» under a colleague 10 dB below)."""
    rest = MANAGER_REST.replace("Когда вам было бы удобно оплатить?", "Аплату будете вносить сразу или частями.")
    manager, client = _dialogue(rest, 20.0, -20.0)
    transcript = assemble_transcript(_recognised(_words(GREETING, 0.0, -20.0) + manager, client), "x.ogg",
                                     TranscribeOptions(manager_channel="left"), SCRIPT)
    assert transcript.quality is not None
    transcript.quality.channels[0].snr_db, transcript.quality.channels[0].noise_swing_db = snr_db, swing_db
    return transcript


def test_evidence_the_recogniser_may_have_spoilt_is_noted_and_in_a_room_of_voices_uncertain():
    quiet = score_call(_misheard_payment(40.0, None), SCRIPT, "experienced", WORDS_ONLY)
    payment = next(s for s in quiet.stages if s.id == "payment_timing")
    assert not payment.present and [n.code for n in payment.notes] == ["stage_heard_not_done"]  # said for the lead
    assert not payment.uncertain and quiet.flags == [] and quiet.verdict == "below"  # a quiet room: the check stands
    assert "вопросительного знака" in Message(code="stage_heard_not_done").text("ru")
    assert "question mark" in Message(code="stage_heard_not_done").text("en")

    voices = score_call(_misheard_payment(14.0, 10.0), SCRIPT, "experienced", WORDS_ONLY)
    assert next(s for s in voices.stages if s.id == "payment_timing").uncertain
    assert voices.verdict == "below" and _codes(voices.flags) == [VERDICT_UNCERTAIN]  # credited, it would be above
    assert voices.flags[0].detail == "stages: payment_timing"

    # a steady noise as loud (pink noise 10 dB below: what is under the speaker swings 1.0-1.3 dB) is as noisy a room:
    # on the blind calls pink noise changed 5 verdicts, and sparing it left 4 of them unflagged
    hiss = score_call(_misheard_payment(14.0, 1.2), SCRIPT, "experienced", WORDS_ONLY)
    assert _codes(hiss.flags) == [VERDICT_UNCERTAIN]
    # the scores are the same in all three: only the doubt differs
    assert quiet.adherence == voices.adherence == hiss.adherence

    from compliance.reports.call_page import build_call_page
    from compliance.reports.render import make_environment, render_call_page
    from compliance.scoring.result import CallRecord

    record = CallRecord(call_id="c1", file="x.ogg", manager="ivanova", result=voices,
                        transcript=_misheard_payment(14.0, 10.0))
    page = build_call_page(record, SCRIPT)
    for lang, words in (("ru", "вопросительного знака"), ("en", "question mark")):
        assert words in render_call_page(page, make_environment(lang))   # the note, in words, on the stage


def test_typed_text_scores_as_recognised_text_does_and_raises_no_doubt():
    recognised = _misheard_payment(14.0, 10.0)
    typed = Transcript(segments=[Segment(text=s.text, speaker=s.speaker, start=s.start, end=s.end)
                                 for s in recognised.segments])   # the same turns, typed: no words, no quality
    result = score_call(typed, SCRIPT, "experienced", WORDS_ONLY)
    heard = score_call(recognised, SCRIPT, "experienced", WORDS_ONLY)
    assert [(s.id, s.present, s.score) for s in result.stages] == [(s.id, s.present, s.score) for s in heard.stages]
    assert result.adherence == heard.adherence and result.verdict == heard.verdict
    assert not any(s.uncertain for s in result.stages) and result.flags == []  # no words' probabilities: no doubt


def test_a_stage_said_in_part_whose_rest_was_found_and_not_credited_in_a_room_of_voices_is_uncertain():
    from compliance.scoring.confidence import _stage_uncertain
    from compliance.scoring.result import StageResult

    empty = Transcript(segments=[])
    part = [StageResult(id="payment", score=60.0, present=True, start=0.0,
                        notes=[Message(code="stage_heard_not_done")])]
    assert _stage_uncertain(part, 0, empty, False, [], noisy=True)
    assert not _stage_uncertain(part, 0, empty, False, [], noisy=False)
    part[0].score = 100.0                                    # said in full: nothing left to doubt
    assert not _stage_uncertain(part, 0, empty, False, [], noisy=True)


def test_what_is_under_the_speaker_swings_with_a_voice_and_not_with_a_steady_noise():
    import numpy as np

    from compliance.speech.decode import SAMPLE_RATE
    from compliance.speech.levels import envelope, noise_swing

    rng = np.random.default_rng(7)
    t = np.arange(20 * SAMPLE_RATE) / SAMPLE_RATE
    speaking = (np.sin(2 * np.pi * 0.25 * t) > 0).astype(np.float32)          # the speaker: 2 s on, 2 s off
    speaker = 0.3 * speaking * rng.normal(size=t.size).astype(np.float32)
    hiss = 0.03 * rng.normal(size=t.size).astype(np.float32)                  # 20 dB below, steady
    syllables = (np.sin(2 * np.pi * 4 * t) > 0.3).astype(np.float32) * (np.sin(2 * np.pi * 0.3 * t) > -0.5)
    voice = 0.06 * syllables * rng.normal(size=t.size).astype(np.float32)     # another voice under the speaker
    for under, steady in ((hiss, True), (voice, False)):
        env = envelope(speaker + under)
        swing = noise_swing(env, float(np.percentile(env, 90)))
        assert swing is not None and (swing < 4.0) == steady, swing           # measured: 1.0-1.3 against 7-19 dB
    assert noise_swing(envelope(speaker), None) is None                        # no speaker heard: not measured


def test_in_a_noisy_room_a_verdict_at_the_edge_of_its_band_waits_for_the_lead():
    from compliance.scoring.confidence import NOISY_MARGIN, VERDICT_NEAR_EDGE, flag_uncertain_verdict
    from compliance.scoring.verdict import summarise

    transcript = _call(GREETING, 0.95)                       # every word heard clearly
    assert transcript.quality is not None
    result = score_call(transcript, SCRIPT, "experienced", WORDS_ONLY)
    assert result.adherence is not None and not result.missing_required and result.flags == []

    def judged(snr_db: float, edge_below: float) -> list[str]:
        """The flags with the band's lower edge ``edge_below`` points under the adherence, the room ``snr_db``."""
        other = result.model_copy(deep=True)
        assert other.quality is not None and other.adherence is not None
        other.quality.channels[0].snr_db = snr_db
        other.band = (other.adherence - edge_below, 100.0)
        summarise(other)
        flag_uncertain_verdict(other)
        return _codes(other.flags)

    assert judged(14.0, 1.0) == [VERDICT_NEAR_EDGE]          # a colleague's voice under the manager, a point above
    assert judged(14.0, -1.0) == [VERDICT_NEAR_EDGE]         # ... or a point below: either way
    assert judged(14.0, NOISY_MARGIN + 1) == []              # clear of the edge
    assert judged(40.0, 1.0) == []                           # a quiet room: the words stand as heard
    for lang, words in (("ru", "шумном помещении"), ("en", "noisy room")):
        assert words in Message(code=VERDICT_NEAR_EDGE).text(lang)

    critical = result.model_copy(deep=True)                  # below whatever the adherence: nothing to doubt
    assert critical.quality is not None and critical.adherence is not None
    critical.quality.channels[0].snr_db = 14.0
    critical.band = (critical.adherence - 1.0, 100.0)
    critical.forbidden.append(ForbiddenHit(phrase="это не моя проблема", matched="это не моя проблема",
                                           severity="critical"))
    summarise(critical)
    flag_uncertain_verdict(critical)
    assert critical.verdict == "below" and critical.flags == []
