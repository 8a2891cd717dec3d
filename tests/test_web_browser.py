"""The review app in a real Chromium against a real `compliance serve` (issue 11): the lead and a manager log in,
the lead overrides a stage, the manager disputes, the lead accepts, the score changes, both log out; every form
field has a label and the forms are reachable by keyboard; it works with JavaScript off, and with it on the
player seeks to a line's time."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from .review_helpers import PASSWORDS, build_history
from .test_reports_browser import ARGS, CHROMIUM, _Watch, _write_wav
from .web_server import running_server

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "review"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("review-browser")
    db = base / "history.db"
    build_history(db)
    wav = base / "call.wav"
    _write_wav(wav)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE calls SET audio = ? WHERE manager = 'ivanova'", (str(wav),))
    with running_server(db) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _login(page, url: str, login: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Логин", exact=True).fill(login)          # found by its label: the label is bound to the field
    page.get_by_label("Пароль", exact=True).fill(PASSWORDS[login])
    page.get_by_label("Пароль", exact=True).press("Enter")      # submitted from the keyboard
    page.wait_for_load_state()


def _score(page) -> str:
    return page.locator("#verdict .big").inner_text().split("\n")[0].strip()


def _logout(page) -> None:
    page.get_by_role("button", name="Выйти").click()
    page.wait_for_url(re.compile(r"/login$"))


def test_override_dispute_accept_in_a_browser(server, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = _Watch(page)
    _login(page, server, "lead")
    page.get_by_role("link", name="Иванова Мария").click()
    page.locator('a[href="/calls/call001"]').click()
    before = _score(page)
    stage = page.locator("#st-payment_timing")
    stage.get_by_label("Решение", exact=True).select_option("1")
    stage.get_by_label("Комментарий", exact=True).fill("сказала в конце звонка")
    stage.get_by_role("button", name="Исправить").click()
    page.wait_for_load_state()
    assert "исправлено руководителем: lead" in page.locator("#st-payment_timing").inner_text()
    assert _score(page) != before and "оценка машины" in page.locator("#verdict").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "lead-override.png"))
    _logout(page)

    _login(page, server, "ivanova")
    assert page.url.endswith("/managers/ivanova")
    page.locator('a[href="/calls/call000"]').click()
    machine = _score(page)
    greeting = page.locator("#st-greeting")
    greeting.get_by_label("Почему решение неверно", exact=True).fill("я поздоровалась, это слышно на записи")
    greeting.get_by_role("button", name="Оспорить").click()
    page.wait_for_load_state()
    assert "открыт" in page.locator("#disputes").inner_text()
    _logout(page)

    _login(page, server, "lead")
    disputes = page.locator("#disputes")
    assert "я поздоровалась" in disputes.inner_text()
    disputes.get_by_label("Ответ или причина отказа", exact=True).first.fill("да, слышно")
    disputes.get_by_role("button", name="Принять").first.click()
    page.wait_for_load_state()
    assert "принят" in page.locator("#disputes").inner_text()
    page.goto(server + "/calls/call000")
    assert _score(page) != machine
    _logout(page)
    assert not watch.errors and not watch.dialogs
    context.close()


def test_forms_are_reachable_by_keyboard(server, browser):
    page = browser.new_page()
    _login(page, server, "lead")
    page.goto(server + "/calls/call002")
    controls = page.evaluate("""() => Array.from(document.querySelectorAll(
        'form select, form input:not([type=hidden]), form button')).map(e => e.id || e.textContent.trim())""")
    reached = set()
    for _ in range(len(controls) * 3 + 200):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement.id || document.activeElement.textContent.trim()"))
    assert {c for c in controls if c} <= reached
    # every field's label is bound: the accessible name of each field is its label's text
    for field in page.locator("form select, form input:not([type=hidden])").all():
        assert field.evaluate("e => e.labels.length") == 1
    page.close()


def test_works_without_javascript(server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    _login(page, server, "lead")
    page.goto(server + "/calls/call003")
    stage = page.locator("#st-needs")
    stage.get_by_label("Решение", exact=True).select_option("0")
    stage.get_by_role("button", name="Исправить").click()
    page.wait_for_load_state()
    assert "исправлено руководителем" in page.locator("#st-needs").inner_text()
    context.close()


def test_the_player_seeks_to_a_line(server, browser):
    page = browser.new_page()
    _login(page, server, "lead")
    page.goto(server + "/calls/call000")
    link = page.locator("article.stage a.ts[data-t]").nth(1)
    wanted = float(link.get_attribute("data-t"))
    assert wanted > 1  # a real seek, not the start
    link.click()
    page.wait_for_function("t => Math.abs(document.getElementById('player').currentTime - t) < 0.5", arg=wanted)
    page.close()
