"""Chromium screenshots of every page of the review app, in Russian and English, for a person to look at.

Run: python benchmarks/screenshots.py OUT_FOLDER [--lang ru --lang en] [--phone]

Builds a sample history the way a lead's machine holds it (the test suite's calls in the lead's own folders,
a chat, an override, an open and a settled dispute), starts the real ``compliance serve`` on it, and saves a
full-page PNG of each page as the lead and as a manager sees it: ``OUT_FOLDER/<lang>/<who>-<page>.png``
(``--phone``: also 390 px wide). The PNGs are not committed; look at them after changing a page.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.review_helpers import PASSWORDS, build_lead_history  # noqa: E402
from tests.web_server import running_server  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# who logs in → the pages they open (name, address)
TOURS: dict[str, list[tuple[str, str]]] = {
    "guest": [("login", "/login")],
    "lead": [("team", "/"), ("manager", "/managers/ivanova"), ("call", "/calls/call001"),
             ("call-experienced", "/calls/call006"), ("chat", "/calls/chat001"), ("disputes", "/disputes"),
             ("agreement", "/agreement"), ("not-found", "/calls/nope")],
    "ivanova": [("manager", "/managers/ivanova"), ("call", "/calls/call000"), ("disputes", "/disputes")],
}
LOGIN_LABEL = {"ru": "Логин", "en": "Login"}
PASSWORD_LABEL = {"ru": "Пароль", "en": "Password"}


def _log_in(page, base: str, who: str, lang: str) -> None:
    page.goto(base + "/login")
    page.get_by_label(LOGIN_LABEL[lang], exact=True).fill(who)
    page.get_by_label(PASSWORD_LABEL[lang], exact=True).fill(PASSWORDS[who])
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/(managers/\w+)?$"))


def take(out: Path, langs: list[str], phone: bool) -> list[Path]:
    """Start the server once per language and save the screenshots; returns the files written."""
    from playwright.sync_api import sync_playwright

    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="lead-machine-") as tmp, sync_playwright() as p:
        db = build_lead_history(Path(tmp))
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for lang in langs:
                with running_server(db, "--lang", lang) as base:
                    for who, pages in TOURS.items():
                        sizes = [("", 1280, 800)] + ([("-phone", 390, 844)] if phone else [])
                        for suffix, width, height in sizes:
                            context = browser.new_context(viewport={"width": width, "height": height})
                            page = context.new_page()
                            if who != "guest":
                                _log_in(page, base, who, lang)
                            for name, url in pages:
                                page.goto(base + url)
                                path = out / lang / f"{who}-{name}{suffix}.png"
                                path.parent.mkdir(parents=True, exist_ok=True)
                                page.screenshot(path=str(path), full_page=True)
                                written.append(path)
                            context.close()
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNGs (made if missing)")
    parser.add_argument("--lang", action="append", choices=["ru", "en"], help="default: both")
    parser.add_argument("--phone", action="store_true", help="also a 390 px wide phone view")
    args = parser.parse_args()
    files = take(args.out, args.lang or ["ru", "en"], args.phone)
    print(f"{len(files)} screenshots in {args.out}")


if __name__ == "__main__":
    main()
