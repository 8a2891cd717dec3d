"""Finding text of the other language in what a user reads (issue 23): Cyrillic in English output, English words
in Russian output.

What is not the interface's own text is taken out first: command lines and examples, option names, metavars and
acronyms (upper case), paths, file and key names, URLs, option values and brands (``ALLOWED``), and the data a
page shows (names, script lines, transcripts: ``data`` strings given by the caller). What is left must be in the
page's language.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Iterable

CYRILLIC = re.compile(r"[А-Яа-яЁё]")
LATIN_WORD = re.compile(r"(?<![\w-])[A-Za-z][A-Za-z'’]+(?![\w-])")

# Names, brands, units and values that are the same in both languages (option values, file formats).
ALLOWED = {
    "pipedrive", "binotel", "zadarma", "telegram", "whatsapp", "whisper", "faster-whisper", "ctranslate2", "dask",
    "google", "sheets", "jinja", "ctrl-c", "cron", "id", "ok", "auto", "base", "small", "float16", "int8",
    "float32", "int8_float16", "ru", "en", "uk", "local", "key", "secret", "csv", "json", "lines", "schema",
    "newcomer", "experienced", "lead", "manager", "left", "right", "cpu", "cuda", "call", "day", "week", "month",
    "call-compliance", "compliance", "sqlite",
}
_STRIP = [
    re.compile(r"`[^`]*`"),                                               # `code`
    re.compile(r"^ {2}[a-z][\w-]*(?= {2})", re.M),                         # a command's name in a list of them
    re.compile(r"pip install\s+\S+"),
    re.compile(r"(?:\b[A-Z_]+=\S*\s+)*(?:echo|printf)\b.*$", re.M),       # shell examples
    re.compile(r"(?<![\w-])compliance(?: [^\n]*)?$", re.M),               # a command line to the end of its line
    re.compile(r"\[(?:default|по\s+умолчанию):\s[^\]]*\]"),              # option defaults are values
    re.compile(r'"?(?:call-\s*)?compliance\[\w+\]"?'),                              # a package extra
    re.compile(r"\[[^\]\s]*\|[^\]\s]*\]"),                                # [ru|en] choices
    re.compile(r"\b(?:https?|tcp)://\S+"),
    re.compile(r"(?<!\w)-{1,2}[A-Za-z][\w-]*"),                           # --options, -o
    re.compile(r"[\w.~*<>$-]*[/\\][\w./\\*<>…-]*"),                       # paths
    re.compile(r"\b[\w*-]+\.(?:[a-z0-9]{1,5})(?:\.[a-z0-9]{1,5})*\b"),   # file names: team.yaml, call.txt
    re.compile(r"\b\w*_\w*\b"),                                           # keys: pbx_extensions, sales_call
    re.compile(r"\b[A-Z][A-Z0-9]+(?:-\d+)?\b"),                           # metavars, acronyms: FOLDER, UTF-8
    re.compile(r"\b\w+(?:,\[?\w+\]?)+"),                                  # a CSV header: file,manager,date
    re.compile(r"\b[a-z]+(?==)"),                                         # key=… value
    re.compile(r"(?<!\w)\.[a-z0-9]{2,5}\b"),                              # a suffix: .txt, .json
    re.compile(r"\b[a-z_]+:(?=[\s,.)])"),                                  # a YAML key: targets:, examples:
]


def _without(text: str, data: Iterable[str]) -> str:
    for item in sorted({d for d in data if d and len(d) > 1}, key=len, reverse=True):
        text = text.replace(item, " ")
    for pattern in _STRIP:
        text = pattern.sub(" ", text)
    return text


def foreign(text: str, lang: str, data: Iterable[str] = ()) -> list[str]:
    """The words of ``text`` in the other language than ``lang`` (with a little context each), data left out.

    ``data`` are the strings a page shows as they are (names, script lines, transcripts): their words are data
    wherever they appear, since a page may split a line into highlighted words."""
    data = list(data)
    words = {w.lower() for item in data for w in re.findall(r"\w+", item)}
    rest = _without(text, data)
    # Another program's own words, quoted after a colon or an opening bracket («…» in Russian, “…” in English),
    # follow our sentence.
    rest = re.sub(r"(:\s*|\()(?:«[^»\n]*»|“[^”\n]*”)", r"\1 ", rest)
    found: list[str] = []
    if lang == "en":
        rest = re.sub(r"«[^»\n]*»", " ", rest)   # quoted data: transcript prefixes «М:», said phrases
        candidates = re.finditer(r"\w*[А-Яа-яЁё]\w*", rest)
        found = [_context(rest, m) for m in candidates if m.group(0).lower() not in words]
    else:
        found = [_context(rest, m) for m in LATIN_WORD.finditer(rest)
                 if m.group(0).lower() not in ALLOWED and m.group(0).lower() not in words]
    return found


def _context(text: str, match: re.Match) -> str:
    return (text[max(0, match.start() - 30):match.start()] + "[" + match.group(0) + "]"
            + text[match.end():match.end() + 30]).replace("\n", " ")


class _Visible(HTMLParser):
    """The text a person sees on a page: text nodes, titles, labels of inputs and buttons; not scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        a = dict(attrs)
        for key in ("title", "placeholder", "aria-label", "alt"):
            if a.get(key):
                self.parts.append(str(a[key]))
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.parts.append(str(a["value"]))

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(parser.parts)
