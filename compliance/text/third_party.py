"""What other programs said, in the run's language (issue 23): SQLite's, FFmpeg's, an HTTP server's (Pipedrive, a
PBX) and the HTTP client's own words are English. The ones people meet are mapped to a catalogue sentence; words the
catalogue does not know are kept, quoted, after a sentence of ours that names who said them, never shown bare.

The matching is on the program's words (SQLite and FFmpeg give no stable code for most of these), lower-cased.
"""
from __future__ import annotations

import re
from typing import Optional

from compliance.text.catalogue import Said, say

_LONGEST = 200    # a server may answer a page of HTML: the detail is its start

# (what the program says, the catalogue's sentence)
SQLITE = (
    (r"database (?:table )?is locked|database is busy", "why.sqlite.locked"),
    (r"database or disk is full|no space left", "err.batch.disk_full"),
    (r"disk i/o error", "why.sqlite.io"),
    (r"file is not a database|file is encrypted|malformed", "why.sqlite.damaged"),
    (r"unable to open database file", "why.sqlite.cannot_open"),
    (r"readonly database|read-only", "why.sqlite.read_only"),
    (r"no such (?:table|column)", "why.sqlite.foreign"),
)
FFMPEG = (
    (r"invalid data found", "err.audio.invalid"),
    (r"no such file", "why.ffmpeg.missing"),
    (r"permission denied", "why.ffmpeg.permission"),
    (r"end of file", "why.ffmpeg.cut"),
    (r"decoder not found|unknown (?:codec|format)|not yet implemented|patch welcome|unsupported",
     "why.ffmpeg.codec"),
    (r"cannot allocate memory|out of memory", "why.ffmpeg.memory"),
)
# The HTTP client's failures, by the name of its exception (httpx's names).
TRANSPORT = {
    "ConnectError": "why.net.connect", "ConnectTimeout": "why.net.connect_timeout",
    "ReadTimeout": "why.net.read_timeout", "WriteTimeout": "why.net.read_timeout", "PoolTimeout": "why.net.read_timeout",
    "ReadError": "why.net.cut", "WriteError": "why.net.cut", "RemoteProtocolError": "why.net.cut",
    "LocalProtocolError": "why.net.protocol", "ProxyError": "why.net.proxy", "UnsupportedProtocol": "why.net.protocol",
}
HTTP = {400: "why.http.400", 401: "why.http.401", 403: "why.http.403", 404: "why.http.404", 405: "why.http.400",
        409: "why.http.409", 410: "why.http.410", 413: "why.http.413", 422: "why.http.400", 429: "why.http.429"}


def _words(said: object) -> str:
    """The program's words on one line, kept short."""
    if isinstance(said, BaseException):
        said = getattr(said, "strerror", None) or str(said) or type(said).__name__
    text = " ".join(str(said).split())
    return text if len(text) <= _LONGEST else text[:_LONGEST - 1] + "…"


def _known(words: str, rules: tuple[tuple[str, str], ...]) -> Optional[str]:
    lowered = words.lower()
    return next((key for pattern, key in rules if re.search(pattern, lowered)), None)


def _unknown(source: str, words: str) -> Said:
    return say("why.unknown", source=source, words=words)


def _program_reason(program: str, rules: tuple[tuple[str, str], ...], said: object) -> str:
    """A program's refusal in the run's language: a catalogue text when one of ``rules`` knows the words, else the
    words quoted after our sentence; what is already ours (a ``Said``) as it is."""
    if isinstance(said, Said):
        return said
    words = _words(said)
    key = _known(words, rules)
    return say(key) if key else _unknown(program, words)


def sqlite_reason(said: object) -> str:
    """Why SQLite refused, in the run's language (its words quoted when the catalogue does not know them)."""
    return _program_reason("SQLite", SQLITE, said)


def ffmpeg_reason(said: object) -> str:
    """Why FFmpeg (through PyAV) could not read a recording, in the run's language."""
    return _program_reason("FFmpeg", FFMPEG, said)


def transport_reason(exc: BaseException) -> str:
    """Why a request got no answer (no connection, a timeout, a cut), in the run's language; the client's own words
    after it when they add something (``[Errno 111] Connection refused``)."""
    name = type(exc).__name__
    key = TRANSPORT.get(name) or next((TRANSPORT[base.__name__] for base in type(exc).__mro__
                                       if base.__name__ in TRANSPORT), None)
    detail = _words(str(exc)) if str(exc).strip() else name
    if key is None:
        return _unknown(name, detail)
    return say(key) if detail == name else say("why.with_words", sentence=say(key), words=detail)


def http_reason(status: int, source: str, said: str = "") -> str:
    """What an HTTP status means, in the run's language, with the server's own words (``said``) quoted after it."""
    key = HTTP.get(status) or ("why.http.5xx" if status >= 500 else "why.http.other")
    sentence = say(key, status=status)
    words = _words(said) if said and said.strip() not in ("", "—") else ""
    return say("why.detail", sentence=sentence, source=source, words=words) if words else sentence


def quoted(said: str) -> str:
    """A server's own words, quoted as a detail after a sentence of ours that already says what went wrong."""
    words = _words(said)
    return say("why.quoted", words=words) if words and words != "—" else "—"


# PyYAML's problems people make by hand (a colon in a value, a tab, an unclosed quote or bracket, uneven indents).
YAML = (
    (r"mapping values are not allowed", "why.yaml.colon"),
    (r"character '\\t'", "why.yaml.tab"),
    (r"while scanning a (?:double-)?quoted scalar|unknown escape", "why.yaml.quote"),
    (r"expected ',' or '[}\]]'|while parsing a flow", "why.yaml.bracket"),
    (r"expected <block end>", "why.yaml.indent"),
    (r"could not find expected ':'", "why.yaml.no_colon"),
)


def yaml_reason(exc: BaseException, with_line: bool = True) -> str:
    """What is wrong in a YAML file, in the run's language, with the line unless the caller shows it (PyYAML's
    words quoted when unknown)."""
    problem = str(getattr(exc, "problem", None) or exc)
    context = str(getattr(exc, "context", None) or "")
    key = _known(f"{problem} {context}", YAML)
    said = say(key) if key else _unknown("YAML", _words(problem))
    mark = getattr(exc, "problem_mark", None)
    return say("why.yaml.at_line", line=mark.line + 1, why=said) if mark is not None and with_line else said


def internal_error(exc: BaseException) -> str:
    """A fault of ours (a bug, not the input): said as one, with Python's words quoted, so a batch lists it in the
    run's language and the person knows to run again and report it."""
    return say("why.internal", what=_words(f"{type(exc).__name__}: {exc}"))
