"""What a stage must *do* to be credited: the act it names, and where in the call it does it.

A sentence close in meaning to a stage may only talk around it: the client's money mentioned is not a question
about when they will pay, «будем на связи» is not a next step, a company pitch is not "we can do your request".
A script declares each stage's act (``act:`` in the YAML); this module holds the small typed rule set of acts:
the words that show the act was done, whether it must be a question, what makes it too vague, and where in the
call it does its job (a payment question after the offer, a farewell at the end). The rules of the act judge
evidence found in the manager's own words (by meaning or a cue); the script's own wording needs no proof of
the act, but every line, however found, must stand where its stage does its job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Optional, Sequence

from compliance.messages import Message
from compliance.scoring.embeddings import Sentence, split_sentences
from compliance.scoring.result import Found, Span
from compliance.scoring.transcript import Segment
from compliance.scoring.turns import cut_off_from, time_at, turn_ids

if TYPE_CHECKING:  # the script declares acts, and the scorers' seam reads the script
    from compliance.scoring.scorer import LineEvidence


class Act(str, Enum):
    """The act a stage names."""

    GREETING = "greeting"              # greet, say who is calling and from where, ask for time
    NEEDS = "needs"                    # ask about the client's request
    OFFER = "offer"                    # say that we can deliver it (and how, for how much)
    PAYMENT = "payment"                # ask when (how) the client will pay
    NEXT_STEP = "next_step"            # agree a concrete step: an action or a time
    CANNOT_DELIVER = "cannot_deliver"  # say we cannot, or offer to work together in the future
    FAREWELL = "farewell"              # thank and say goodbye, at the end of the call


@dataclass(frozen=True)
class ActRule:
    markers: tuple[str, ...] = ()      # word beginnings ("=word": that word), one of which the sentence must hold
    question: bool = False             # the sentence must ask
    vague: tuple[str, ...] = ()        # phrases that leave the act undone («как будет возможность»)
    topic: tuple[str, ...] = ()        # words a «не» before which says "no" to the act (default: the markers)
    after: tuple[Act, ...] = ()        # said after the first of these stages said (all but the last: word for word)
    at_end: bool = False               # said at the end of the call
    answers: bool = False              # answers the client: said after the client first spoke
    introduces: bool = False           # the stage needs the caller's introduction (who, from where) in the opening
    substance: tuple[str, ...] = ()    # word beginnings one sentence of the stage's evidence must hold, however
    # found: a next step's action or time (not «Давайте договоримся о следующем шаге» alone), an offer's
    # commitment to this request (not «наши клиенты довольны»; the price may follow «сделаем» in the next turn)
    reach: int = 0                     # the manager's turns around the evidence's turn that may hold the substance
    retracted: bool = False            # a later "no" to the act's words withdraws it when the sale stops there
    weak: tuple[str, ...] = ()         # markers that show the act only in a sentence that names nothing else
    # («Сразу или частями?» may ask how they pay; «Монтаж будете делать сразу или частями?» asks about the work)


_TIMES = ("сегодня", "завтра", "послезавтра", "понедельник", "вторник", "сред", "четверг", "пятниц", "суббот",
          "воскресень", "недел", "числ", "утр", "вечер", "обед", "час", "минут", "месяц")
# What we will do for this request: can, will make, take on, prepare, send, price it, in time.
_COMMITS = ("мож", "смож", "сдела", "делаем", "возьм", "подготов", "пришл", "вышл", "отправ",
            "скин", "предлаг", "предлож", "стоим", "стоит", "цен", "расчет", "посчит", "смет", "успе", "выполн",
            "справ", "получится", "умее", "профил", "специализ", "занима", "организ", "обеспеч", "установ",
            "достав", "привез", "выйдет", "составит", "закро", "закры", "уклады", "решени", "подбер", "подойд", "сил")
# A next step's action or time: the verb «договоримся» alone agrees nothing (the contract «договор» is an action).
_STEPS = tuple(m for m in (
    "пришл", "вышл", "отправ", "скин", "перезвон", "набер", "позвон", "созвон", "свяж", "напиш", "подготов",
    "выстав", "запиш", "встреч", "демо", "счет", "=договор", "договора", "договору", "договоре", "договором",
    "реквизит", "ссылк", "жду", "подпи", "оплат", "приед", "заед", "покаж", "посчита", "кин", "подтвер", "звон",
    "пиш", "скидыва")) + _TIMES
RULES: dict[Act, ActRule] = {
    # Hello, who is calling and from where («это Кирилл, центр «Навык Про»»), or may we talk — not «как дела?».
    # Without the introduction there is no greeting stage at all: «Алло, добрый день!» alone is not one.
    Act.GREETING: ActRule(introduces=True, markers=(
        "здравств", "добр", "привет", "алло", "=день", "утро", "зовут", "компани", "беспоко", "звоню", "звонок",
        "менеджер", "представ", "удобн", "минут", "отвле", "помеш", "говор", "разговар", "бесед", "связи",
        "сейчас", "свобод", "=это", "=из", "«")),
    # The client's task, deadline or budget: «диваны ещё актуальны?» checks the lead, it asks nothing about the task.
    Act.NEEDS: ActRule(question=True, vague=("актуальн",)),
    # Whether we can do it: a pitch about the company in general («работаем с самыми разными объектами») is not.
    # It answers the client's request: a pitch before the client said a word is not "we can do it".
    Act.OFFER: ActRule(answers=True, retracted=True, substance=_COMMITS, reach=1, vague=(
        "самыми разными", "самые разные", "с разными", "разного профиля", "любыми", "любые задачи", "широкий спектр",
        "на рынке", "много лет", "всеми видами", "всем подряд", "всё что угодно", "все что угодно"), topic=(
        "мож", "смож", "сдела", "дела", "возьм", "берем", "профил", "специализ", "занима", "умее", "подойд",
        "справ", "получится", "выйдет", "потян", "уложим", "успеем", "обещ")),
    # Paying, not the sum: «на какую сумму рассчитываете?» asks the budget (the request).
    # When the client will pay for what we offered: asked before any offer there is nothing to pay for yet.
    # Splitting alone is no payment word: «Монтаж будете делать сразу или частями?» asks about the work.
    Act.PAYMENT: ActRule(question=True, after=(Act.OFFER, Act.NEEDS), weak=("частям", "транш"), markers=(
        "оплат", "плат", "внес", "рассчитат", "рассчитае", "рассчитаю", "деньг", "денег", "счет", "аванс",
        "бухгалтер", "перевод", "перевест", "перечисл", "частям", "транш", "кэш", "наличн", "безнал", "предоплат",
        "расчет", "оплач")),
    Act.NEXT_STEP: ActRule(after=(Act.NEEDS,), substance=_STEPS, markers=(
        "пришл", "вышл", "отправ", "скин", "перезвон", "набер", "позвон", "созвон", "свяж", "напиш", "подготов",
        "выстав", "запиш", "встреч", "демо", "счет", "договор", "реквизит", "ссылк",
        "жду", "подпи", "оплат", "приед", "заед", "покаж", "посчита", "кин", "подтвер", "звон", "пиш", "скидыва") + _TIMES,
        vague=("как будет возможность", "когда будет возможность", "как появится возможность", "по возможности",
               "будем на связи", "как-нибудь", "когда-нибудь", "видно будет", "как получится", "если что",
               "как освобожусь", "посмотрим")),
    # We cannot, or may we come back later («можно мы к вам вернёмся с предложением? будем рады поработать»).
    Act.CANNOT_DELIVER: ActRule(markers=(
        "не", "нет", "будущ", "дальнейш", "впредь", "обращайт", "появ", "сотруднич", "сожалени", "увы", "верн",
        "поработ", "потом", "контакт", "связ")),
    Act.FAREWELL: ActRule(at_end=True, markers=(
        "свидан", "доброго", "хорошего", "всего", "спасибо", "благодар", "удач", "связи", "встречи", "завтра",
        "пока", "прощ", "благ", "счастлив", "=до")),
}
# Turns of either side that may follow a farewell: «Спасибо!» — «И вам.» — «Всего доброго!» — «До свидания.»
FAREWELL_TURNS_AFTER = 3

# The words that may frame a weak marker without naming what else it is about («Вам удобнее сразу или частями?»).
_FRAME = frozenset({"удобнее", "удобно", "будете", "сможете", "хотите", "планируете", "предпочитаете", "лучше",
                    "сразу", "целиком", "полностью", "этапами", "поэтапно", "скажите", "подскажите", "пожалуйста",
                    "вообще", "обычно", "всего", "какими", "сумму", "сумма", "суммой", "стоимость"})  # the sum: money
_WORD = re.compile(r"[\w-]+")
_ASKING = frozenset({"когда", "как", "какой", "какая", "какое", "какие", "каким", "сколько", "ли", "удобнее",
                     "что", "чем", "где", "зачем", "почему", "кто", "куда", "расскажите", "подскажите"})
# Words that may stand between «не» and what it negates («не наш профиль», «не сможем сделать»).
_PUNCTUATED = re.compile(r"[.,!;:—]")
_QUESTION_OPENS = 3  # «А когда вам удобно…», «Скажите, пожалуйста, когда…»: the asking word comes early
_BRIDGE = frozenset({"наш", "это", "так", "то", "мы", "я", "вам", "вас", "ваш", "совсем", "очень", "уже",
                     "всегда", "сможем", "смогу", "можем", "могу", "будем", "буду", "стоит", "надо", "нужно", "этого"})
_REFUSAL = re.compile(r"^\s*(?:да\s+нет|да\s+не|ну\s+нет|нет|не-не)\s*[,.!—–-]", re.IGNORECASE)


def _words(text: str) -> list[str]:
    return [w.strip("-") for w in _WORD.findall(text.lower().replace("ё", "е"))]


def _has(words: list[str], markers: tuple[str, ...]) -> list[int]:
    return [i for i, w in enumerate(words)
            if any(w == m[1:] if m.startswith("=") else w.startswith(m) for m in markers)]


def is_question(text: str) -> bool:
    """A question: its mark, or (recognised speech often has none) «ли» or a question word at its start
    («Многие так и платят, кто частями, кто сразу» tells, it does not ask); in speech recognised with no
    punctuation at all, a question word anywhere."""
    words = _words(text)
    opens = len(words) if not _PUNCTUATED.search(text) else _QUESTION_OPENS
    return "?" in text or "ли" in words or any(w in _ASKING for w in words[:opens])


def negates(text: str, markers: tuple[str, ...]) -> bool:
    """Whether a sentence says "no" to the act: it opens with a refusal («Да не, договор — это потом») or puts
    «не»/«нет» before one of the act's words («мы таким не занимаемся»). A «не» inside a question is
    politeness («Не подскажете, когда удобно оплатить?»), not a refusal."""
    return bool(_REFUSAL.match(text)) or says_no_to(text, markers)


def says_no_to(text: str, markers: tuple[str, ...]) -> bool:
    """Whether a sentence (not a question) puts «не»/«нет» before one of these words («не успеем»)."""
    if "?" in text:
        return False
    words = _words(text)
    for i, w in enumerate(words):
        if w not in ("не", "нет", "ни"):
            continue
        j = i + 1
        while j < len(words) and j <= i + 3 and words[j] in _BRIDGE:
            j += 1
        if j < len(words) and _has([words[j]], markers):
            return True
    return False


# What a refusal's follow-up looks to: working together later («будете держать нас в уме?», «можно я вам напишу,
# когда откроется запись?», «к следующему сезону поработаем вместе?»).
# A call back or a letter alone is the next step of this request («в понедельник позвоню, всё ли сходится?»).
_LATER = ("будущ", "дальнейш", "впредь", "потом", "следующ", "заран", "весн", "летом", "летн", "осен", "зимой",
          "=год", "=году", "сотруднич", "посотруднич", "поработ", "работ", "обращ", "обрат", "контакт", "связ",
          "верн", "=уме", "=виду", "список")
# An invitation stands for the question: «…понадобится уборка — звоните, будем рады посотрудничать».
_INVITES = ("=звоните", "=обращайтесь", "=пишите", "=набирайте", "=рады")


def asks_later(text: str) -> bool:
    """Whether a sentence asks (or invites) the client to work together later: what a refusal needs after it to
    be the script's branch (the refusal alone, or a promise to check and come back, is not)."""
    words = _words(text)
    return (is_question(text) or bool(_has(words, _INVITES))) and bool(_has(words, _LATER))


def refuses_request(text: str) -> bool:
    """Whether a sentence says "no" to the offer's act in own words («приложение мы вам не сделаем», «титан не
    печатаем и не возьмёмся»): a statement, not a question, that negates what an offer commits to."""
    rule = RULES[Act.OFFER]
    return not is_question(text) and negates(text, rule.topic or rule.markers)


def promises(text: str) -> bool:
    """Whether a sentence commits to the client's request («сделаем в будни», «пришлю предложение»): a statement
    with a commitment word that does not say "no" to the offer."""
    rule = RULES[Act.OFFER]
    return bool(_has(_words(text), _COMMITS)) and not is_question(text) and \
        not says_no_to(text, rule.topic or rule.markers)


def act_done(act: Act, text: str) -> bool:
    """Whether a sentence in the manager's own words does the act (not only talks about its topic)."""
    rule = RULES[act]
    words = _words(text)
    folded = " ".join(words)
    if rule.markers and not (_has(words, rule.markers) or ("«" in rule.markers and "«" in text)):
        return False
    if rule.question and not is_question(text):
        return False
    if rule.weak and not _has(words, tuple(m for m in rule.markers if m not in rule.weak)) and \
            any(len(w) > 4 and w not in _FRAME and not _has([w], rule.weak) for w in words):
        return False  # only a weak marker, and the sentence names something else: that is what it asks about
    if any(phrase in folded for phrase in rule.vague):
        return False
    return act is Act.CANNOT_DELIVER or not negates(text, rule.topic or rule.markers)


def _sentence(segments: Sequence[Segment], line: "LineEvidence") -> str:
    span = line.span
    if span is None or not 0 <= span.turn < len(segments):
        return line.matched or ""
    if span.turn_end is None:
        return segments[span.turn].text[span.char_start:span.char_end]
    return line.matched or ""


def judge_evidence(acts: Sequence[Optional[Act]], segments: Sequence[Segment],
                   evidence: "list[list[list[LineEvidence]]]") -> dict[int, Message]:
    """Drop the own-words evidence (meaning, cue) that does not do its stage's act. ``evidence`` is
    scorer → stage → line, changed in place. Returns, per stage index, a note where a line was left unsaid whose
    evidence was the script's own wording (found word for word, a word or two off) or would have done the act as
    a question: the words were said and the act hangs on a question mark or a word the recogniser may have got
    wrong (it drops the mark under noise), so ``scoring.confidence`` does not take it as proof in a noisy room."""
    notes: dict[int, Message] = {}
    for per_stage in evidence:
        for s, (act, lines) in enumerate(zip(acts, per_stage)):
            if act is None:
                continue
            for line in lines:
                unasked = False
                while line.said and (_mentioned(segments, line) or
                                     _own_words(line) and not _done_there(act, segments, line)):
                    unasked = unasked or line.found is Found.VERBATIM or _unasked(act, segments, line)
                    drop(line)
                if unasked and not line.said:
                    notes[s] = Message(code="stage_heard_not_done")
    return notes


def _unasked(act: Act, segments: Sequence[Segment], line: "LineEvidence") -> bool:
    """Evidence that does not do a question's act only for want of a question mark, in a sentence the recogniser
    ended with another mark (a sentence left without one was cut off, not told)."""
    text, span = _sentence(segments, line), line.span
    if span is None or span.turn_end is not None or not 0 <= span.turn < len(segments):
        return False
    whole = next((x.text for x in split_sentences(segments[span.turn].text, span.turn)
                  if x.char_start <= span.char_start < x.char_end), text).rstrip()
    if "?" in whole or not whole.endswith((".", "!", "…")):
        return False
    return RULES[act].question and not is_question(text) and act_done(act, text.rstrip(" .,;:!…") + "?")


def _mentioned(segments: Sequence[Segment], line: "LineEvidence") -> bool:
    """A question line inside a statement that says "no" («Не буду сейчас спрашивать, когда вы планируете
    оплату, это рано»): the line is talked about, not asked."""
    span = line.span
    if span is None or span.turn_end is not None or not 0 <= span.turn < len(segments) or \
            not line.text.rstrip().endswith("?"):
        return False
    said = next((x.text for x in split_sentences(segments[span.turn].text, span.turn)
                 if x.char_start <= span.char_start < x.char_end), "")
    return bool(said) and not is_question(said) and "не" in _words(said) and "не" not in _words(line.text)


def _done_there(act: Act, segments: Sequence[Segment], line: "LineEvidence") -> bool:
    """The act done by the sentence, or by a question that takes its topic from the client's question just
    before it («Платить когда надо будет?» — «А вы сами когда планируете — сразу или после запуска?»)."""
    text = _sentence(segments, line)
    if act_done(act, text):
        return True
    turn = line.span.turn if line.span is not None else 0
    if not RULES[act].markers or turn < 1 or segments[turn - 1].speaker == segments[turn].speaker:
        return False
    asked = split_sentences(segments[turn - 1].text, turn - 1)
    return bool(asked) and is_question(text) and is_question(asked[-1].text) and \
        act_done(act, f"{asked[-1].text} {text}")


# Below this word similarity the script's wording was only near («Вам удобнее монтаж на этой неделе или на
# следующей?» for «…оплатить на этой неделе…»): the sentence must then do the act, as own words must.
EXACT_WORDING = 95.0


def _own_words(line: "LineEvidence") -> bool:
    return line.found in (Found.MEANING, Found.CUE) or (line.found is Found.VERBATIM and line.similarity < EXACT_WORDING)


def _turn_said(segments: Sequence[Segment], speakers: set[str], turn: int, reach: int = 0) -> str:
    """The manager's turn that holds segment ``turn`` and ``reach`` of the manager's turns before and after it,
    without a sentence cut off and abandoned."""
    ids = turn_ids(segments, speakers)
    parts = []
    for i, seg in enumerate(segments):
        if ids[turn] >= 0 and abs(ids[i] - ids[turn]) <= reach and ids[i] >= 0:
            cut = cut_off_from(segments, i, speakers)
            parts.append(seg.text if cut is None else seg.text[:cut])
    return " ".join(parts)


def require_substance(acts: Sequence[Optional[Act]], segments: Sequence[Segment], speakers: set[str],
                      evidence: "list[list[list[LineEvidence]]]") -> dict[int, Message]:
    """A stage whose act has a substance counts only when a turn that holds its evidence says it: «Давайте
    договоримся о следующем шаге» without the step (or with the step cut off), or a pitch about the company
    without a word of what we will do for this request, is no stage. Returns, per stage index, why its evidence
    was dropped. ``evidence`` is scorer → stage → line, changed in place."""
    notes: dict[int, Message] = {}
    for s, act in enumerate(acts):
        if act is None or not RULES[act].substance:
            continue
        rule = RULES[act]

        def holds(line: "LineEvidence", rule: ActRule = rule) -> bool:
            return line.span is not None and \
                bool(_has(_words(_turn_said(segments, speakers, line.span.turn, rule.reach)), rule.substance))

        said = [line for per_stage in evidence for line in per_stage[s] if line.said]
        if not said or any(holds(line) for line in said):
            continue
        for line in said:  # the next sentence that could stand for the line may say it
            while line.said and not holds(line):
                drop(line)
        if not any(line.said for per_stage in evidence for line in per_stage[s]):
            notes[s] = Message(code="stage_no_substance")
    return notes


def drop(line: "LineEvidence", *, all_of_it: bool = False) -> None:
    """Evidence that does not count: the next sentence that could stand for the line takes its place (unless
    ``all_of_it``); without one, the line stays, unsaid."""
    if line.fallbacks and not all_of_it:
        following = line.fallbacks[0]
        line.found, line.similarity, line.meaning = following.found, following.similarity, following.meaning
        line.matched, line.cue, line.span, line.end = following.matched, following.cue, following.span, following.end
        line.text = following.text or line.text
        line.fallbacks = line.fallbacks[1:]
        return
    line.found, line.similarity, line.meaning = Found.ABSENT, 0.0, None
    line.matched = line.cue = line.span = line.end = None
    line.fallbacks = []


def _turns_after(segments: Sequence[Segment], turn: int) -> int:
    changes, speaker = 0, segments[turn].speaker
    for seg in segments[turn + 1:]:
        if seg.speaker != speaker:
            changes, speaker = changes + 1, seg.speaker
    return changes


def misplaced(act: Optional[Act], turn: int, first_turn: dict[Act, int], titles: dict[Act, str],
              segments: Sequence[Segment], clear_turn: Optional[dict[Act, int]] = None) -> Optional[Message]:
    """Why a line said at ``turn`` does not do its stage's job there (None: it does). ``first_turn`` is the
    turn where each act's stage was first said; ``clear_turn``, first said word for word."""
    if act is None:
        return None
    rule = RULES[act]
    reference, at = None, 0
    for i, other in enumerate(rule.after):
        # Every anchor but the last counts only where said word for word: own-words evidence may stand away from
        # its stage (an offer's cue «пришлю коммерческое предложение» inside the next step).
        turns = first_turn if i == len(rule.after) - 1 else (clear_turn or {})
        if other in turns:
            reference, at = other, turns[other]
            break
    if reference is not None and turn < at:
        return Message(code="stage_before", params={"before": titles[reference]})
    if rule.at_end:
        after = _turns_after(segments, turn)
        if after > FAREWELL_TURNS_AFTER:
            return Message(code="stage_not_at_end", params={"turns": after})
    if rule.answers and any(seg.speaker == "client" for seg in segments) and \
            not any(seg.speaker == "client" for seg in segments[:turn]):
        return Message(code="stage_before_client")
    return None


def place_evidence(acts: Sequence[Optional[Act]], titles: Sequence[str], segments: Sequence[Segment],
                   evidence: "list[list[list[LineEvidence]]]") -> tuple[list[list[Message]], dict[int, int]]:
    """Drop the evidence said where its stage cannot do its job, and say why, per stage. ``evidence`` is
    scorer → stage → line, changed in place.

    Returns:
        Per stage, why evidence was dropped; and, per stage index, the turn where dropped evidence was said
        (not credited, but still said out of order: the order check keeps seeing it).
    """
    first_turn: dict[Act, int] = {}
    clear_turn: dict[Act, int] = {}
    act_titles: dict[Act, str] = {}
    for s, act in enumerate(acts):
        if act is None:
            continue
        act_titles.setdefault(act, titles[s])
        turns = [line.span.turn for per_stage in evidence for line in per_stage[s] if line.said and line.span]
        if turns:
            first_turn[act] = min(first_turn.get(act, turns[0]), *turns)
        clear = [line.span.turn for per_stage in evidence for line in per_stage[s]
                 if line.said and line.span and line.found is Found.VERBATIM]
        if clear:
            clear_turn[act] = min(clear_turn.get(act, clear[0]), *clear)
    notes: list[list[Message]] = [[] for _ in acts]
    early: dict[int, int] = {}
    for s, act in enumerate(acts):
        for per_stage in evidence:
            for line in per_stage[s]:
                while line.said and line.span is not None:
                    why = misplaced(act, line.span.turn, first_turn, act_titles, segments, clear_turn)
                    if why is None:
                        break
                    early[s] = min(early.get(s, line.span.turn), line.span.turn)
                    drop(line)
                    if why not in notes[s]:
                        notes[s].append(why)
    return notes, early


# Who is calling and from where: «меня зовут…», «беспокоит…», «компания…», a company's name in quotes («это Оля,
# «Смарт Мейкер»»; not after a preposition: «во «ВКонтакте»», «за «Динамо»»), or «это / я / из / от» and a name.
_INTRODUCTION = ("зовут", "беспоко", "представля", "менеджер", "компани", "на связи")
_QUOTE = re.compile(r"[«\"“]\w")
_NAMED = re.compile(r"(?:\b[Ээ]то|\b[Яя]|\bиз|\bот)\s+[А-ЯЁA-Z]")
OPENING_TURNS = 2  # the manager's turns that make the opening (the second answers «А вы кто?»)


def introduces(text: str) -> bool:
    """Whether a sentence says who is calling and from where."""
    folded = text.lower().replace("ё", "е")
    return (any(m in folded for m in _INTRODUCTION) or bool(_NAMED.search(text))
            or any(_quote_names(text, m.start()) for m in _QUOTE.finditer(text)))


def _quote_names(text: str, at: int) -> bool:
    """A quote at ``at`` opens a name that is not the object of a preposition («во «ВКонтакте»»)."""
    before = _words(text[:at])
    return not before or before[-1] not in _PREPOSITIONS


_PREPOSITIONS = frozenset({"в", "во", "на", "за", "про", "по", "для", "с", "со", "к", "ко", "о", "об", "у", "при",
                           "до", "из-за", "через"})


def introduction(segments: Sequence[Segment], speakers: set[str]) -> Optional[tuple[int, Sentence]]:
    """Where the manager said who is calling and from where in the opening (their first turns), if they did; a
    sentence the client cut off and the manager abandoned («Меня зовут…» — «Да мне всё равно») is not said."""
    for index, (seg, turn) in enumerate(zip(segments, turn_ids(segments, speakers))):
        if 0 <= turn < OPENING_TURNS:
            cut = cut_off_from(segments, index, speakers)
            for sentence in split_sentences(seg.text, index):
                if (cut is None or sentence.char_start < cut) and introduces(sentence.text):
                    return index, sentence
    return None


def require_introduction(acts: Sequence[Optional[Act]], names_caller: Sequence[Sequence[bool]],
                         segments: Sequence[Segment], speakers: set[str],
                         evidence: "list[list[list[LineEvidence]]]", credit: float) -> dict[int, Message]:
    """A stage whose act needs the caller's introduction counts only with one: in the opening, or the script's
    introduction line (one naming {manager} or {company}) found by its wording. Without it the stage's evidence
    is dropped (and the reason returned, per stage index); with it, an introduction line nothing else found is
    credited as said in own words (``credit``). ``names_caller``: per stage, which lines are introduction lines.
    ``evidence`` is scorer → stage → line, changed in place."""
    notes: dict[int, Message] = {}
    for s, act in enumerate(acts):
        if act is None or not RULES[act].introduces:
            continue
        lines = [line for per_stage in evidence for line in per_stage[s]]
        by_words = any(line.said and line.found in (Found.VERBATIM, Found.CUE) and names_caller[s][i]
                       for per_stage in evidence for i, line in enumerate(per_stage[s]))
        found = None if by_words else introduction(segments, speakers)
        if by_words:
            continue
        if found is None:
            if any(line.said for line in lines):
                for line in lines:
                    drop(line, all_of_it=True)
                notes[s] = Message(code="stage_no_introduction")
            continue
        index, sentence = found
        for i, line in enumerate(evidence[0][s]):
            if names_caller[s][i] and not any(per_stage[s][i].said for per_stage in evidence):
                line.found, line.similarity, line.matched = Found.CUE, credit, sentence.text
                line.span = Span(turn=index, char_start=sentence.char_start, char_end=sentence.char_end,
                                 start=time_at(segments[index], sentence.char_start))
                line.end = time_at(segments[index], sentence.char_end)
                break
    return notes
