"""Every page in one language (issue 23 point 1): the review app, served for real and walked link by link as the
lead and as a manager, and the HTML reports of the sample history, each in Russian and in English; what is left
after the data (names, script lines, transcripts) must be in the page's language."""
from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

from compliance.cli import cli
from compliance.history.store import Store
from compliance.scoring.result import CallRecord

from .conftest import ROOT
from .language_check import CYRILLIC, foreign, visible_text
from .review_helpers import PASSWORDS, build_history
from .web_server import running_server

# Stored words of an older format (Russian by design, rendered only by older readers) are not data of a page.
_NOT_DATA = {"not_connected_reason", "verdict_reasons", "notes", "message", "reasons"}
_ENUMS = {"verdict", "level", "found", "channel", "severity", "rating", "code", "status", "claim", "kind", "speaker",
          "verdict_without_order", "outcome", "role"}


def _strings(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in _NOT_DATA:
                yield from _strings(v, k)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v, key)
    elif isinstance(value, str):
        yield key, value


def _data(records: list[CallRecord], lang: str) -> set[str]:
    """What the pages show as data: for an English page its Russian strings (names, script lines, transcripts),
    for a Russian page its identifiers (file names, manager keys, stage ids)."""
    found: set[str] = set()
    for record in records:
        for key, text in _strings(record.model_dump(mode="json")):
            if lang == "en" and CYRILLIC.search(text):
                found.add(text)
            elif lang == "ru" and key not in _ENUMS and re.search(r"[A-Za-z]", text):
                found.update({text, Path(text).name, Path(text).stem})
    if lang == "en":  # the scripts' titles and lines, as the reports take them from the stored scripts
        found.update(p.read_text(encoding="utf-8") for folder in (ROOT / "scripts_yaml", ROOT / "tests" / "golden")
                     for p in folder.glob("*.yaml"))
    return found | set(PASSWORDS) | {"ivanova", "petrov", "x-hostile"}


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    db = tmp_path_factory.mktemp("languages") / "history.db"
    return db, build_history(db)


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: set[str] = set()

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href and href.startswith("/"):
            self.links.add(urllib.parse.urldefrag(href)[0])


def _session(base: str, login: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    page = opener.open(base + "/login", timeout=30).read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, page
    form = urllib.parse.urlencode({"login": login, "password": PASSWORDS[login], "csrf_token": token.group(1)})
    opener.open(base + "/login", data=form.encode(), timeout=30).read()
    return opener


def _pages(opener: urllib.request.OpenerDirector, base: str) -> dict[str, str]:
    """Every HTML page reachable by links from the home page (logging out left for last: it ends the session)."""
    seen: dict[str, str] = {}
    todo = ["/"]
    while todo:
        url = todo.pop()
        if url in seen or url.startswith("/logout"):
            continue
        with opener.open(base + url, timeout=30) as res:
            kind = res.headers.get("content-type", "")
            body = res.read().decode("utf-8", "replace") if kind.startswith("text/html") else ""
        seen[url] = body
        parser = _Links()
        parser.feed(body)
        todo += sorted(parser.links - set(seen))
    return {url: body for url, body in seen.items() if body}


def _missing_page(base: str, login: str) -> str:
    """The page of an address that does not exist (a 404 is a page too)."""
    try:
        _session(base, login).open(base + "/calls/no-such-call", timeout=30)
    except urllib.error.HTTPError as err:
        assert err.code == 404
        return err.read().decode("utf-8", "replace")
    raise AssertionError("a missing call was found")


@pytest.mark.slow   # a real server per language
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_page_of_the_review_app_speaks_one_language(history, lang):
    db, records = history
    data = _data(records, lang)
    with running_server(db, "--lang", lang) as base:
        anonymous = urllib.request.urlopen(base + "/login", timeout=30).read().decode()
        assert foreign(visible_text(anonymous), lang, data) == []
        for login in ("lead", "ivanova"):
            pages = _pages(_session(base, login), base)
            assert len(pages) >= (5 if login == "lead" else 2), sorted(pages)
            wrong = {url: found for url, body in pages.items() if (found := foreign(visible_text(body), lang, data))}
            assert wrong == {}, f"{login} ({lang}): {wrong}"
            assert foreign(visible_text(_missing_page(base, login)), lang, data) == []


@pytest.mark.parametrize("listed_days", [None, 1])   # 1: every manager's months get pages of their own
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_report_page_speaks_one_language(history, tmp_path, monkeypatch, lang, listed_days):
    db, records = history
    out = tmp_path / "reports"
    if listed_days:
        monkeypatch.setattr("compliance.reports.stream.LISTED_DAYS", listed_days)
    result = CliRunner().invoke(cli, ["--lang", lang, "report", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert foreign(result.output, lang) == []
    data = _data(records, lang)
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 5
    assert any(p.parent.name == "months" for p in pages) == bool(listed_days)
    wrong = {str(p.relative_to(out)): found for p in pages
             if (found := foreign(visible_text(p.read_text(encoding="utf-8")), lang, data))}
    assert wrong == {}


@pytest.mark.slow   # a real batch (meaning model) per language
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_sample_day_batch_and_its_reports_speak_one_language(tmp_path, lang):
    """`compliance batch samples/day --out`, as README's first command runs it (its transcripts: the recordings
    need the speech model), in each language: the summary and every report page."""
    day = tmp_path / "day"
    for path in (ROOT / "samples" / "day").rglob("*.txt"):
        target = day / path.relative_to(ROOT / "samples" / "day")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    out, db = tmp_path / "reports", tmp_path / "history.db"
    result = CliRunner().invoke(cli, ["--lang", lang, "batch", str(day), "--team", str(ROOT / "samples" / "team.yaml"),
                                      "--out", str(out), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert foreign(result.output, lang, _roster_names()) == [], result.output
    with Store(db) as store:
        data = _data(store.calls(), lang) | _roster_names()
    pages = sorted(out.rglob("*.html"))
    assert len(pages) >= 10
    wrong = {str(p.relative_to(out)): found for p in pages
             if (found := foreign(visible_text(p.read_text(encoding="utf-8")), lang, data))}
    assert wrong == {}


def _roster_names() -> set[str]:
    import yaml

    team = yaml.safe_load((ROOT / "samples" / "team.yaml").read_text(encoding="utf-8"))
    return {str(m.get("name", "")) for m in team["managers"].values()} | set(team["managers"])
