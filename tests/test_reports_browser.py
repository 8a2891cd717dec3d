"""The reports in a real headless Chromium: index → manager → call over file:// URLs.

Screenshots (desktop 1280 px and phone 390 px) are saved to test-artifacts/reports/.
``python -m tests.test_reports_browser`` writes the README screenshots to docs/screenshots/.
"""
from __future__ import annotations

import math
import os
import struct
import sys
import wave
from pathlib import Path

import pytest

from compliance.reports import write_reports
from compliance.scoring.script_file import load_script
from tests.test_reports_sample import bulk_records, sample_records

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "reports"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
HOSTILE_NAME = "<script>alert('имя')</script> Хакер"
HOSTILE_LINE = "<script>alert('реплика')</script> <b>жирный</b> & «кавычки»"

pytestmark = pytest.mark.slow


def _write_wav(path: Path, seconds: float = 70.0, rate: int = 8000) -> None:
    """A quiet tone, long enough for every time in the sample calls."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = b"".join(struct.pack("<h", int(800 * math.sin(2 * math.pi * 220 * i / rate)))
                      for i in range(int(seconds * rate)))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


def _launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)


@pytest.fixture(scope="module")
def report_set(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    wav = base / "recordings" / "ivanova 27.11 10-15.wav"
    _write_wav(wav)
    script = load_script(ROOT / "tests" / "golden" / "sales_call.yaml")
    write_reports(base / "reports", sample_records(script, audio=str(wav)), scripts=[script],
                  generated_at="2026-11-27 18:00")
    return base / "reports"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = _launch(p)
        yield b
        b.close()


class _Watch:
    """Console errors, uncaught exceptions and dialogs (an executed alert() would open one) of a page."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"] + 1, f"{page.url}: {width}px wide"


def test_index_manager_call_in_chromium(browser, report_set):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = _Watch(page)
    page.goto((report_set / "index.html").as_uri())
    assert page.title().startswith("Команда")
    # A manager's name with HTML in it is shown as text, and nothing ran.
    assert page.get_by_role("link", name=HOSTILE_NAME).count() == 1
    _shot(page, "team-1280.png")

    page.get_by_role("link", name="Иванова Мария").click()
    page.wait_for_load_state()
    assert page.url.endswith("/managers/ivanova/index.html")
    assert page.locator("svg.chart").count() == 2 and page.locator("#readiness").is_visible()
    _shot(page, "manager-1280.png")

    page.locator("a[href='calls/2026-11-27-10-15-02.html']").first.click()
    page.wait_for_load_state()
    assert page.url.endswith("/managers/ivanova/calls/2026-11-27-10-15-02.html")
    assert page.locator("#verdict .big").inner_text().startswith("100")
    _shot(page, "call-1280.png")

    # The player has loaded the relative recording; a line's time seeks it and jumps to the line.
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=10_000)
    assert page.evaluate("document.getElementById('player').duration") == pytest.approx(70, abs=0.5)
    link = page.locator("#st-offer a.ts").first
    t = float(link.get_attribute("data-t"))
    assert t > 5
    link.click()
    page.wait_for_function(f"Math.abs(document.getElementById('player').currentTime - {t}) < 1.5", timeout=5_000)
    assert page.evaluate("location.hash") == "#m-offer-0"
    assert page.locator("#m-offer-0").is_visible()

    # Back up to the manager page through the call page's own link (no link up to the team page).
    page.get_by_role("link", name="← Все звонки").click()
    page.wait_for_load_state()
    assert page.url.endswith("/managers/ivanova/index.html")
    assert page.locator("a[href$='index.html']").count() == 0 or all(
        not h.startswith("..") for h in page.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))"))

    assert watch.errors == [] and watch.dialogs == []
    page.close()


def test_untrusted_text_shows_as_text(browser, report_set):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch = _Watch(page)
    call = next((report_set / "managers" / "x-hostile" / "calls").glob("*.html"))
    page.goto(call.as_uri())
    assert HOSTILE_LINE in page.locator(".turn.client .text").all_inner_texts()
    assert HOSTILE_NAME in page.locator("header .meta").first.inner_text()
    assert page.locator("b").count() == 0 or "жирный" not in " ".join(page.locator("b").all_inner_texts())
    page.goto((report_set / "managers" / "x-hostile" / "index.html").as_uri())
    assert page.locator("h1").inner_text() == HOSTILE_NAME
    assert watch.errors == [] and watch.dialogs == []
    page.close()


def test_phone_width_and_print(browser, report_set):
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    watch = _Watch(page)
    pages = [("team-390.png", report_set / "index.html"),
             ("manager-390.png", report_set / "managers" / "ivanova" / "index.html"),
             ("call-390.png", report_set / "managers" / "ivanova" / "calls" / "2026-11-27-10-15-02.html")]
    for name, path in pages:
        page.goto(path.as_uri())
        _no_sideways_scroll(page)
        _shot(page, name)
    page.emulate_media(media="print")
    assert page.locator(".player").is_hidden() and page.locator(".crumbs").is_hidden()
    assert page.locator("#verdict").is_visible()
    assert watch.errors == [] and watch.dialogs == []
    page.close()


def test_links_work_without_javascript(browser, report_set):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto((report_set / "managers" / "ivanova" / "calls" / "2026-11-24-10-15-02.html").as_uri())
    page.locator("#missed a").first.click()
    assert page.url.endswith("#st-payment_timing")
    page.locator("#st-needs a.ts").first.click()
    assert page.url.endswith("#m-needs-0")
    page.locator("#forbidden a.ts").first.click()
    assert page.url.endswith("#f-0")
    context.close()


def save_readme_screenshots(target: Path = ROOT / "docs" / "screenshots") -> list[Path]:
    """The README's pictures: a call report and the team overview, from a plausible team."""
    import tempfile

    from playwright.sync_api import sync_playwright

    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reports"
        recs = bulk_records(n_calls=7 * 6 * 36, n_managers=7, days=6, seed=11)
        write_reports(out, recs, generated_at="2026-11-27 18:00")
        # A newcomer's call that shows most of what a call page can: a missed stage and a forbidden phrase.
        pick = next(r for r in recs if r.level == "newcomer" and r.result.connected and r.result.forbidden
                    and len(r.result.missing_required) == 1 and r.date == "2026-11-27")
        stem = f"{pick.date}-{pick.time.replace(':', '-')}.html"
        call = next((out / "managers").glob(f"*/calls/{stem}"))
        with sync_playwright() as p:
            b = _launch(p)
            page = b.new_page(viewport={"width": 1280, "height": 1000})
            saved = []
            for name, path in (("team.png", out / "index.html"), ("call.png", call)):
                page.goto(path.as_uri())
                page.screenshot(path=str(target / name), full_page=False)
                saved.append(target / name)
            b.close()
    return saved


if __name__ == "__main__":
    for shot in save_readme_screenshots():
        print(shot, f"{shot.stat().st_size // 1024} KB", file=sys.stderr)
