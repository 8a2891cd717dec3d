"""The README's pictures of the review app: a call page with the lead's override, and the disputes list.

Builds a small history (the report tests' sample calls), starts the real `compliance serve` on loopback, drives
Debian's Chromium with Playwright and writes docs/img/review-call.png (the overridden stage), review-call-score.png
(the corrected score with the machine's beside it) and review-disputes.png (each kept under 200 KB).

Run: python docs/review_screenshots.py
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.review_helpers import PASSWORDS, build_history  # noqa: E402
from tests.test_reports_browser import ARGS, CHROMIUM  # noqa: E402
from tests.web_server import running_server  # noqa: E402

TARGET = ROOT / "docs" / "img"
MAX_BYTES = 200_000


def _login(page, url: str, login: str) -> None:
    page.goto(url + "/login")
    page.get_by_label("Логин", exact=True).fill(login)
    page.get_by_label("Пароль", exact=True).fill(PASSWORDS[login])
    page.get_by_label("Пароль", exact=True).press("Enter")
    page.wait_for_load_state()


def _shoot(page, name: str) -> Path:
    path = TARGET / name
    page.screenshot(path=str(path), full_page=False)
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"{path}: {size} bytes, over {MAX_BYTES}; make the viewport smaller")
    return path


def main() -> list[Path]:
    from playwright.sync_api import sync_playwright

    TARGET.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.db"
        build_history(db)
        with running_server(db) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1100, "height": 760})
            _login(page, url, "ivanova")
            page.goto(url + "/calls/call000")
            greeting = page.locator("#st-needs")
            greeting.get_by_label("Почему решение неверно", exact=True).fill("я спросила про задачу своими словами")
            greeting.get_by_role("button", name="Оспорить").click()
            page.goto(url + "/calls/call002")
            page.locator("#st-offer").get_by_label("Почему решение неверно", exact=True).fill("предложение было")
            page.locator("#st-offer").get_by_role("button", name="Оспорить").click()
            page.goto(url + "/calls/call003")
            page.locator("#st-greeting").get_by_label("Почему решение неверно", exact=True).fill("поздоровалась же")
            page.locator("#st-greeting").get_by_role("button", name="Оспорить").click()
            page.get_by_role("button", name="Выйти").click()
            _login(page, url, "lead")
            page.goto(url + "/disputes")
            rows = page.locator("table.disputes tbody tr")
            rows.nth(1).get_by_label("Ответ или причина отказа", exact=True).fill("да, слышно на 0:12")
            rows.nth(1).get_by_role("button", name="Принять").click()
            rows = page.locator("table.disputes tbody tr")
            rows.nth(1).get_by_label("Ответ или причина отказа", exact=True).fill("это не предложение, а вопрос")
            rows.nth(1).get_by_role("button", name="Отклонить").click()
            page.goto(url + "/calls/call001")
            stage = page.locator("#st-payment_timing")
            stage.get_by_label("Решение", exact=True).select_option("1")
            stage.get_by_label("Комментарий", exact=True).fill("спросила про оплату в конце, машина не услышала")
            stage.get_by_role("button", name="Исправить").click()
            page.wait_for_load_state()
            page.locator("#st-payment_timing").scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -120)")
            saved = [_shoot(page, "review-call.png")]
            page.evaluate("window.scrollTo(0, 0)")
            saved.append(_shoot(page, "review-call-score.png"))
            page.goto(url + "/disputes")
            saved.append(_shoot(page, "review-disputes.png"))
            browser.close()
    return saved


if __name__ == "__main__":
    for path in main():
        print(f"{path}: {path.stat().st_size // 1024} KB")
