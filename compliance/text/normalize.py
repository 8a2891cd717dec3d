"""Russian text normalisation for matching: case, ё = е, numbers, fillers, lemmas and stems.

Speech recognition damages text in predictable ways (no punctuation, digits for numbers, split or merged
words, misheard endings); every normalisation here exists so that what the manager said meets the script line
despite that damage. Lemmas come from pymorphy3's Russian dictionary, stems from the Snowball stemmer (so
that "оплата" and "оплатить" meet).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator, Optional

import pymorphy3
import snowballstemmer
from num2words import num2words

FILLERS = frozenset({
    "э", "ээ", "эээ", "ээээ", "эм", "эмм", "м", "мм", "ммм", "хм", "хмм", "а-а", "ну", "вот", "ааа", "аа", "гм", "uh", "um",
})
# Words that carry little meaning for recognising a stage: they count, but less.
_FUNCTION_POS = frozenset({"NPRO", "PREP", "CONJ", "PRCL", "INTJ"})
_GENERIC = frozenset({
    "быть", "мочь", "это", "весь", "свой", "такой", "очень", "сейчас", "там", "тут", "так", "уже", "еще",
    "также", "тоже", "да", "нет", "вот", "ну", "и", "а", "который", "ваш", "наш", "мой", "какой",
})
# Words the dictionary files as particles or conjunctions that still carry a stage's meaning.
_CONTENT = frozenset({"спасибо", "здравствуйте", "когда"})
_NAME_TAGS = frozenset({"Name", "Surn", "Patr", "Orgn", "Trad", "Geox"})
PLACEHOLDER_WORD = "phname"  # stands for {client}/{manager}/{company} inside a cue
FUNCTION_WEIGHT = 0.35
GENERIC_WEIGHT = 0.5

_WORD = re.compile(r"\d+(?:[ \u00a0\u202f]\d{3})*(?:[.,]\d+)?|[^\W\d_]+", re.UNICODE)
_GROUPED_DIGITS = re.compile(r"[ \u00a0\u202f]")

_morph: Optional[pymorphy3.MorphAnalyzer] = None
_morph_lock = threading.Lock()
# A Snowball stemmer keeps the word it works on in the object, so two threads sharing one garble each other's stems
# (or fail with IndexError): the batch scores calls on threads, so each thread has its own.
_stemmers = threading.local()


def _analyzer() -> pymorphy3.MorphAnalyzer:
    global _morph
    if _morph is None:
        with _morph_lock:
            if _morph is None:
                _morph = pymorphy3.MorphAnalyzer(lang="ru")
    return _morph


def stem(word: str) -> str:
    """The Snowball stem of a folded word (safe to call from several threads)."""
    stemmer = getattr(_stemmers, "russian", None)
    if stemmer is None:
        stemmer = _stemmers.russian = snowballstemmer.stemmer("russian")
    return stemmer.stemWord(word)


@dataclass(slots=True)
class Token:
    """One normalised word with where it came from."""

    surface: str          # the word as normalised text (lowercase, ё → е)
    lemma: str
    key: str              # stem of the lemma: what fuzzy matching compares
    weight: float
    filler: bool
    name: bool = False    # a name, surname, place or a word no dictionary knows (a company name)
    segment: int = -1     # index of the transcript segment
    char_start: int = 0   # offsets into the segment's text
    char_end: int = 0
    time: Optional[float] = None


def fold(text: str) -> str:
    """Lowercase and fold ё into е."""
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=4096)
def _number_words(digits: str) -> tuple[str, ...]:
    value = digits.replace(",", ".")
    try:
        number = float(value) if "." in value else int(value)
        return tuple(num2words(number, lang="ru").replace("-", " ").split())
    except (ValueError, OverflowError, NotImplementedError):
        return (digits,)


@lru_cache(maxsize=200_000)
def analyse_word(word: str) -> tuple[str, str, float, bool]:
    """Return (lemma, key, weight, name-like) of a folded word; cached, since vocabularies repeat across calls."""
    if word.isascii():
        return word, word, 1.0, word.isalpha() and word != PLACEHOLDER_WORD
    morph = _analyzer()
    parse = morph.parse(word)[0]
    lemma = fold(parse.normal_form)
    stemmed = stem(lemma)
    key = stemmed if len(stemmed) >= 4 else lemma
    if lemma in _CONTENT:
        weight = 1.0
    elif lemma in _GENERIC:
        weight = GENERIC_WEIGHT
    elif parse.tag.POS in _FUNCTION_POS:
        weight = FUNCTION_WEIGHT
    else:
        weight = 1.0
    name = bool(_NAME_TAGS & parse.tag.grammemes) or (len(word) > 2 and not morph.word_is_known(word))
    return lemma, key, weight, name


@lru_cache(maxsize=50_000)
def is_modifier(word: str) -> bool:
    """An adjective, participle, numeral or determiner ("каждого", "этого"): the next word is then a noun,
    not a filler ("каждого типа" is not the filler "типа")."""
    parse = _analyzer().parse(word)[0]
    return parse.tag.POS in {"ADJF", "PRTF", "NUMR"} or "Apro" in parse.tag.grammemes


@lru_cache(maxsize=50_000)
def split_merged(word: str) -> tuple[str, ...]:
    """Split a word the recogniser glued together ("вамудобно" → "вам", "удобно") when both parts are real words."""
    morph = _analyzer()
    if len(word) < 6 or morph.word_is_known(word):
        return (word,)
    best: tuple[str, ...] = (word,)
    best_balance = 0
    for cut in range(3, len(word) - 2):
        left, right = word[:cut], word[cut:]
        if morph.word_is_known(left) and morph.word_is_known(right):
            balance = min(len(left), len(right))
            if balance > best_balance:
                best, best_balance = (left, right), balance
    return best


@lru_cache(maxsize=50_000)
def join_split(first: str, second: str) -> Optional[str]:
    """The word two fragments make when the recogniser split one word ("по звоню" → "позвоню"), if it is one."""
    joined = first + second
    if len(joined) >= 5 and _analyzer().word_is_known(joined):
        return joined
    return None


def _make(word: str) -> Token:
    lemma, key, weight, name = analyse_word(word)
    return Token(surface=word, lemma=lemma, key=key, weight=weight, filler=word in FILLERS, name=name)


def iter_words(text: str) -> Iterator[tuple[str, int, int]]:
    """Folded words of a text with their character offsets; numbers become Russian words."""
    folded = fold(text)
    for m in _WORD.finditer(folded):
        raw = m.group(0)
        if raw[0].isdigit():
            for w in _number_words(_GROUPED_DIGITS.sub("", raw)):
                yield w, m.start(), m.end()
        else:
            for part in split_merged(raw):
                yield part, m.start(), m.end()


def tokenize(text: str) -> list[Token]:
    """Normalised tokens of a text (fillers included, flagged)."""
    tokens = []
    for word, start, end in iter_words(text):
        token = _make(word)
        token.char_start, token.char_end = start, end
        # A capitalised word inside a sentence is a name even when the dictionary knows the word.
        if not token.name and text[start:start + 1].isupper() and start > 0:
            before = text[:start].rstrip()
            token.name = bool(before) and before[-1] not in ".!?:—-\"«"
        tokens.append(token)
    return tokens
