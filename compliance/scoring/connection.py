"""Was the call a conversation? Voicemail, operator messages, hang-ups, one-sided calls and wrong numbers.

A call that did not connect is not scored: it does not pull the manager's average down and does not count
toward the day's contacts.
"""
from __future__ import annotations

import re
from typing import Optional

from compliance.messages import Message
from compliance.scoring.scorer import MatchOptions
from compliance.scoring.transcript import Segment, Transcript
from compliance.text.normalize import fold, iter_words

VOICEMAIL_MARKERS = (
    "абонент недоступен", "абонент не может ответить", "аппарат абонента выключен", "вне зоны действия сети",
    "оставьте сообщение после сигнала", "оставьте ваше сообщение", "после звукового сигнала",
    "номер не существует", "неправильно набран номер", "набранный вами номер", "голосовая почта",
    "автоответчик", "абонент занят", "не отвечает перезвоните позже", "вызываемый абонент",
    "временно недоступен", "перезвоните позднее", "абонент не отвечает", "телефон абонента выключен",
    "находится вне зоны", "номер набран неверно", "говорите после сигнала", "ваш звонок очень важен для нас",
    "оставайтесь на линии",
)


# Said by the person who answered: the number reached someone else. Word order varies, so these are patterns.
_WRONG_NUMBER = re.compile(
    r"ошиблись номером|номером ошиблись|не туда (?:попали|звоните|позвонили)|неправильн\w* номер|вы (?:кому|куда) звоните"
    r"|\bвы ошиблись\s*(?:[.!?]|$)"
    r"|(?:тут|здесь) (?:нет|не работает|не живет|никогда не было) (?:такого|такой|таких|никакого|никакой)\b"
    r"|(?:тут|здесь) (?:никакой|никакого|никого|таких нет)\b"
    r"|(?:нет|никого) (?:тут|здесь) (?:такого|такой|таких)\b|(?:такого|такой|таких) (?:тут|здесь) нет\b"
    r"|(?:никакого|никакой|никаких)(?: [а-я]+){1,3} (?:тут|здесь) (?:нет|не было)\b"
    r"|я никакого(?: [а-я]+){1,3} не знаю")
# The manager admits it: the number in the base was wrong.
_WRONG_NUMBER_MANAGER = re.compile(r"(?:в базе|в нашей базе) ошибк|ошибка в базе|номер (?:в базе )?(?:неверный|устарел)")
# A wrong-number call is short: the manager apologises and hangs up.
_WRONG_NUMBER_MAX_WORDS = 150


def _wrong_number(segs: list[Segment], known: bool) -> Optional[re.Match]:
    """What the person who answered (or the manager, admitting it) said that shows a wrong number."""
    for seg in segs:
        text = " ".join(fold(seg.text).replace("-", " ").split())
        pattern = _WRONG_NUMBER_MANAGER if known and seg.speaker == "manager" else _WRONG_NUMBER
        found = pattern.search(text)
        if found:
            return found
    return None


def _turns(segments: list[Segment]) -> list[str]:
    merged: list[str] = []
    for seg in segments:
        if seg.text.strip() and (not merged or merged[-1] != seg.speaker):
            merged.append(seg.speaker)
    return merged


# A client who only agrees («да», «угу», «подходит») says too few words and seconds for the checks below, yet took
# part: this many turns of the client's, each after one of the manager's and holding a reply word, make the call a
# conversation whatever their length. A line check («алло?», «не слышно») holds none; nor does a stray piece of
# the manager's own message that a one-channel split gave the other voice.
ANSWERS_CONNECT = 3
_REPLY_WORDS = frozenset({
    "да", "ага", "угу", "нет", "хорошо", "ладно", "подходит", "устроит", "согласен", "согласна", "конечно",
    "давайте", "понятно", "верно", "точно", "можно", "договорились", "отлично",
})


def _answers(segs: list[Segment]) -> int:
    """How many of the client's turns answer the manager: follow a manager's turn and hold a reply word."""
    turns: list[tuple[str, set[str]]] = []
    for seg in segs:
        if not seg.text.strip():
            continue
        words = {w for w, _, _ in iter_words(seg.text)}
        if turns and turns[-1][0] == seg.speaker:
            turns[-1][1].update(words)
        else:
            turns.append((seg.speaker, words))
    return sum(1 for (before, _), (who, words) in zip(turns, turns[1:])
               if who == "client" and before == "manager" and words & _REPLY_WORDS)


# A manager who said this much to an answering machine (or to nobody) left a message.
MESSAGE_WORDS = 10

# An answering machine's greeting (or an operator's message) is short: the other side says fewer words than this.
GREETING_WORDS = 25
# A call this short (words, both sides) with a voicemail phrase from the other side is not a conversation.
VOICEMAIL_CALL_WORDS = 80

# Courtesy words a recorded greeting puts anywhere («оставьте, пожалуйста, сообщение»): read past them.
_COURTESY = frozenset({"пожалуйста", "please"})


def _marker_pattern(marker: str) -> re.Pattern:
    """A voicemail phrase as the recogniser may write it: each word of four letters or more by its stem (all but
    its last two letters: «оставьте сообщения после сигнала» for «…сообщение…»), shorter words whole."""
    words = [re.escape(w[:max(4, len(w) - 2)]) + r"\w*" if len(w) > 3 else re.escape(w) + r"\b"
             for w in marker.split()]
    return re.compile(r"\b" + r"\s+".join(words))


_MARKER_PATTERNS = [(marker, _marker_pattern(marker)) for marker in VOICEMAIL_MARKERS]


def voicemail_marker(text: str) -> Optional[str]:
    """The voicemail or operator phrase in ``text`` (what the other side said), if any."""
    plain = " ".join(w for w in re.findall(r"[^\W\d_]+", fold(text)) if w not in _COURTESY)
    return next((marker for marker, pattern in _MARKER_PATTERNS if pattern.search(plain)), None)


def _opening_marker(segs: list[Segment]) -> Optional[str]:
    """A one-channel call's voicemail phrase in its opening: the first party's first turn, within its first
    ``GREETING_WORDS`` words, whichever party the split gave it to. A machine's greeting and the manager's message
    after it are one channel: the split may hear them as one voice (a short greeting weighs little against its
    penalty) and give both to one party, or give the greeting to the manager, so the stereo rule (the client's
    phrase, the client saying little) misses them. A machine answers first; a conversation opens with a person."""
    opening: list[str] = []
    for seg in segs:  # in time order
        if seg.speaker != segs[0].speaker or len(opening) >= GREETING_WORDS:
            break
        opening += seg.text.split()
    return voicemail_marker(" ".join(opening[:GREETING_WORDS]))


def _chat_connection(transcript: Transcript) -> tuple[bool, Optional[Message]]:
    """A chat is a contact when the client replied: both sides wrote (a chat's length says nothing)."""
    wrote = {s.speaker for s in transcript.segments if s.text.strip()}
    if "client" not in wrote:
        return False, Message(code="chat_no_reply")
    if "manager" not in wrote:
        return False, Message(code="chat_no_answer")
    return True, None


def connection(transcript: Transcript, opts: MatchOptions | None = None) -> tuple[bool, Optional[Message]]:
    """Decide whether both parties really talked; return (connected, why not as a ``Message``)."""
    opts = opts or MatchOptions()
    if transcript.kind == "chat" and transcript.speakers_known:
        return _chat_connection(transcript)
    # background voices (another voice on a party's channel) are no party: they neither connect nor hang up a call
    segs = [s for s in transcript.segments if s.text.strip() and s.speaker != "background"]
    words = {sp: sum(1 for s in segs if s.speaker == sp for _ in iter_words(s.text))
             for sp in ("manager", "client", "unknown")}
    total = sum(words.values())
    if total == 0:
        return False, Message(code="no_speech")
    known = transcript.speakers_known
    other = " ".join(s.text for s in segs if s.speaker != "manager") if known else " ".join(s.text for s in segs)
    marker = voicemail_marker(other) if not known or words["client"] < GREETING_WORDS else None
    if marker is None and transcript.parties is not None:
        marker = _opening_marker(segs)
    elif marker is None and known:
        # the client's first turn is a machine's phrase, and more words follow on that side: a voice from the room
        # behind the answering machine (a colleague 5 dB below it), not a person who answered
        first = next((i for i, s in enumerate(segs) if s.speaker == "client"), None)
        marker = _opening_marker(segs[first:]) if first is not None else None
    if marker and total < VOICEMAIL_CALL_WORDS:
        return False, Message(code="voicemail", params={"marker": marker})
    parties = transcript.parties
    if known and parties is not None and parties.voices == 1 and not words["client"]:
        # a one-channel recording with the manager's voice alone: nobody answered, the manager spoke to a machine
        if words["manager"] >= MESSAGE_WORDS:
            return False, Message(code="voicemail_left", params={"words": words["manager"]})
    wrong = _wrong_number(segs, known)
    if wrong and total < _WRONG_NUMBER_MAX_WORDS:
        return False, Message(code="wrong_number", params={"phrase": wrong.group(0)})
    answered = known and _answers(segs) >= ANSWERS_CONNECT  # a client who only agrees took part
    talk = transcript.talk
    if known and talk and (talk.manager_speech or talk.client_speech):
        if min(talk.manager_speech, talk.client_speech) < opts.min_party_speech and not (
                answered and talk.client_speech < talk.manager_speech):
            quiet = "client" if talk.client_speech < talk.manager_speech else "manager"
            return False, Message(code=f"one_side_{quiet}")
        if talk.manager_speech + talk.client_speech < opts.min_two_party_speech:
            return False, Message(code="too_little_talk", params={"seconds": talk.manager_speech + talk.client_speech})
    if total < opts.min_words:
        return False, Message(code="too_short", params={"words": total})
    if known:
        if words["client"] == 0:
            return False, Message(code="client_silent")
        if words["manager"] == 0:
            return False, Message(code="manager_silent")
        if words["client"] < opts.min_client_words and not answered:
            return False, Message(code="client_few_words", params={"words": words["client"]})
        if len(_turns(segs)) < opts.min_turns:
            return False, Message(code="hang_up", params={"turns": len(_turns(segs))})
    return True, None



def check_connected(transcript: Transcript, opts: MatchOptions | None = None) -> tuple[bool, Optional[str]]:
    """Like ``connection``, with the reason as Russian text (what the CLI and stored results show)."""
    connected, why = connection(transcript, opts)
    return connected, why.text("ru") if why is not None else None
