"""The review app's pages for people: a real server that leaks none of the lead's paths to a manager, and the
visible text of the key pages in both languages against golden files.

Golden files: ``tests/golden/pages/<lang>/<page>.txt`` hold what a reader sees (the text, not the markup). After a
deliberate change of a page, accept the new text with ``UPDATE_GOLDEN=1 pytest tests/test_web_pages.py`` and read
the diff before committing it.
"""
from __future__ import annotations

import html
import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx
import pytest
from starlette.testclient import TestClient

from compliance.web.app import create_app

from .review_helpers import PASSWORDS, SAMPLE_PHONE, build_lead_history
from .web_server import running_server

GOLDEN = Path(__file__).parent / "golden" / "pages"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HREF = re.compile(r'href="([^"#]*)')
# page name → (who logs in, address): the pages a lead and a manager work with
PAGES = {"login": (None, "/login"), "team": ("lead", "/"), "manager": ("ivanova", "/managers/ivanova"),
         "call": ("lead", "/calls/call001"), "disputes": ("lead", "/disputes"), "chat": ("ivanova", "/calls/chat001")}


@pytest.fixture(scope="module")
def lead_db(tmp_path_factory) -> Path:
    return build_lead_history(tmp_path_factory.mktemp("lead-machine"))


class _Visible(HTMLParser):
    """The text a reader sees: no tags, no <style>/<script>, no hidden inputs; blocks on their own lines."""

    BLOCKS = {"p", "div", "tr", "li", "h1", "h2", "h3", "section", "header", "footer", "nav", "table", "form",
              "details", "summary", "ul", "ol", "br", "label", "option", "title", "main", "article"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("style", "script", "svg"):
            self._skip += 1
        elif tag in self.BLOCKS or tag in ("td", "th"):
            self.out.append("\n" if tag in self.BLOCKS else " | ")
        if tag == "input" and dict(attrs).get("type") not in ("hidden", "password") and dict(attrs).get("value"):
            self.out.append(f"[{dict(attrs)['value']}]")
        if tag == "button":
            self.out.append("[")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "svg"):
            self._skip -= 1
        elif tag == "a":
            self.out.append(" ")
        elif tag == "button":
            self.out.append("]")
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.out.append(" ".join(data.split("\n")))   # a line break in the markup is a space on the screen


def visible_text(page: str) -> str:
    parser = _Visible()
    parser.feed(page)
    lines = (" ".join(line.split()) for line in "".join(parser.out).splitlines())
    text = "\n".join(line for line in lines if line.strip(" |"))
    return re.sub(r"call-compliance \d[\w.+-]*", "call-compliance VERSION", html.unescape(text)) + "\n"


def _logged_in(client, who: str | None):
    if who is not None:
        token = CSRF.search(client.get("/login").text).group(1)
        res = client.post("/login", data={"login": who, "password": PASSWORDS[who], "csrf_token": token})
        assert res.status_code == 303, res.text[-500:]
    return client


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_key_pages_read_as_the_golden_text(lead_db, lang):
    failed, app, clients = [], create_app(lead_db, secret="golden", lang=lang, login_delay=0.01), {}
    for name, (who, url) in PAGES.items():
        if who not in clients:   # one login per person: a login costs a password hash
            clients[who] = _logged_in(TestClient(app, follow_redirects=False), who)
        res = clients[who].get(url)
        assert res.status_code == 200, (name, res.status_code)
        got = visible_text(res.text)
        golden = GOLDEN / lang / f"{name}.txt"
        if UPDATE:
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(got, encoding="utf-8")
        elif not golden.exists() or golden.read_text(encoding="utf-8") != got:
            failed.append(name)
    assert not failed, f"{lang}: {failed} differ from {GOLDEN / lang} (UPDATE_GOLDEN=1 to accept after reading the diff)"


def test_golden_pages_say_who_when_and_which_stage(lead_db):
    """The golden texts themselves: a dispute is the manager, the call's time, the client, the stage's title."""
    team = (GOLDEN / "ru" / "team.txt").read_text(encoding="utf-8")
    assert "Иванова Мария | 23.11.2026 09:42 | " + SAMPLE_PHONE + " | Приветствие" in team
    disputes = (GOLDEN / "en" / "disputes.txt").read_text(encoding="utf-8")
    assert "Иванова Мария | 26 Nov 2026 11:03 | call002.wav |" in disputes and "line 1" in disputes
    for lang in ("ru", "en"):
        for name in PAGES:
            text = (GOLDEN / lang / f"{name}.txt").read_text(encoding="utf-8")
            assert not re.search(r"\bcall00\d\b(?!\.wav)|\bgreeting\b|payment_timing|[0-9a-f]{16}", text), (lang, name)


def _crawl(client: httpx.Client, base: str, start: str) -> dict[str, str]:
    """Every page reachable by links from ``start`` (same site, GET), with its text."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo:
        url = todo.pop()
        if url in seen or len(seen) > 200:
            continue
        res = client.get(base + url)
        seen[url] = res.text if "text/html" in res.headers.get("content-type", "") else ""
        for href in HREF.findall(seen[url]):
            target = urlparse(urljoin(base + url, html.unescape(href)))
            if target.netloc == urlparse(base).netloc and not target.path.endswith("/audio"):
                todo.append(target.path + (f"?{target.query}" if target.query else ""))
    return seen


@pytest.mark.slow
def test_no_page_a_manager_reaches_shows_the_leads_paths(lead_db):
    """A real server over a history whose calls lie in the lead's folders: a manager logs in and walks every page
    they can reach (and a few they cannot); none shows a path of the lead's machine."""
    machine = str(lead_db.parent)
    with running_server(lead_db) as base, httpx.Client(follow_redirects=True, timeout=30) as client:
        token = CSRF.search(client.get(base + "/login").text).group(1)
        res = client.post(base + "/login", data={"login": "ivanova", "password": PASSWORDS["ivanova"],
                                                   "csrf_token": token})
        assert res.url.path == "/managers/ivanova"
        pages = _crawl(client, base, "/managers/ivanova")
        for extra in ("/", "/disputes", "/calls/call005", "/managers/petrov", "/nope", "/calls/call000/audio/x"):
            pages[extra] = client.get(base + extra).text
        assert {"/managers/ivanova", "/calls/call000", "/calls/chat001", "/disputes"} <= set(pages)
        leaks = {url: text[text.index(machine) - 80:text.index(machine) + 80]
                 for url, text in pages.items() if machine in text or "Записи" in text}
        assert not leaks, leaks
        assert "call000.wav" in pages["/calls/call000"]    # the file's own name is the manager's to see
