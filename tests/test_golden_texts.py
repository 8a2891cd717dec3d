"""Golden texts of a lead's first day, in both languages (issue 23): what the command line says at its dead ends
(a day with no calls, a partial manager name, a date it cannot read, a binary transcript, a transcript without
prefixes, a broken team file), what the PBX webhook answers, and how other programs' refusals read (SQLite,
FFmpeg, Pipedrive, the network). Each text is compared whole with ``tests/golden/texts/<lang>.txt``, so a changed
or mixed-language sentence shows up in review.

After a deliberate change: ``UPDATE_GOLDEN=1 pytest tests/test_golden_texts.py``, then read the diff of the golden
files before committing them.
"""
from __future__ import annotations

import difflib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from compliance.cli import cli
from compliance.text import catalogue
from compliance.text.third_party import ffmpeg_reason, http_reason, sqlite_reason, transport_reason
from compliance.web.app import create_app

from .conftest import FIXTURES, ROOT
from .language_check import foreign

GOLDEN = Path(__file__).parent / "golden" / "texts"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
CALL = ROOT / "samples" / "day" / "2026-11-27_11-05-40_sidorova_380671112233.txt"
TOKEN = "golden-hook-token"


@pytest.fixture(scope="module")
def day(tmp_path_factory) -> Path:
    """A history of one sample day (transcripts only: no model needed)."""
    root = tmp_path_factory.mktemp("golden-day")
    folder = root / "2026-11-27" / "ivanova"
    folder.mkdir(parents=True)
    for name in sorted((ROOT / "samples" / "day" / "2026-11-27" / "ivanova").glob("*.txt"))[:2]:
        shutil.copy(name, folder)
    team = root / "team.yaml"
    shutil.copy(ROOT / "samples" / "team.yaml", team)
    run = CliRunner().invoke(cli, ["batch", str(root / "2026-11-27"), "--db", str(root / "h.db"), "--team", str(team)])
    assert run.exit_code == 0, run.output
    return root


def _cli(lang: str, *args: str) -> str:
    run = CliRunner().invoke(cli, ["--lang", lang, *args], prog_name="compliance")
    return f"$ compliance {' '.join(args)}\n[exit {run.exit_code}]\n{run.output.rstrip()}"


def _texts(lang: str, root: Path, monkeypatch) -> list[str]:
    binary = root / "call.txt"
    binary.write_bytes((ROOT / "samples" / "voicemail.ogg").read_bytes()[:4096])
    plain = root / "plain.txt"
    plain.write_text("Добрый день, меня зовут Мария\nДа, слушаю вас\n", encoding="utf-8")
    broken = root / "broken-team.yaml"
    broken.write_text("managers:\n  ivanova: level: newcomer\n", encoding="utf-8")
    db, team = str(root / "h.db"), str(root / "team.yaml")
    out = [
        _cli(lang, "daily", "ivanova", "--date", "25.11.2026", "--db", db, "--team", team),
        _cli(lang, "daily", "иван", "--date", "27.11.2026", "--db", db, "--team", team),
        _cli(lang, "export", "--since", "2026/11/01", "--db", db),
        _cli(lang, "score", str(binary)),
        _cli(lang, "score", str(plain)),
        _cli(lang, "score", str(FIXTURES / "chats" / "telegram_single.json"), "--manager-name", "Ольг"),
        _cli(lang, "team", "list", "--team", str(broken)),
    ]
    monkeypatch.setenv("BINOTEL_WEBHOOK_TOKEN", TOKEN)
    monkeypatch.setenv("ZADARMA_API_SECRET", "golden-secret")
    client = TestClient(create_app(root / f"hook-{lang}.db", secret="s", lang=lang))
    for answer in (client.post("/pbx/binotel/wrong", json={"requestType": "apiCallCompleted"}),
                   client.post(f"/pbx/binotel/{TOKEN}", json={"requestType": "apiCallCompleted"}),
                   client.post("/pbx/zadarma", data={"event": "NOTIFY_END"})):
        out.append(f"POST /pbx → {answer.status_code} {json.dumps(answer.json(), ensure_ascii=False)}")
    with catalogue.speaking(lang):
        reasons = [
            sqlite_reason(sqlite3.OperationalError("database is locked")),
            sqlite_reason(sqlite3.OperationalError("disk I/O error")),
            sqlite_reason(sqlite3.DatabaseError("file is not a database")),
            sqlite_reason(sqlite3.OperationalError("too many SQL variables")),
            ffmpeg_reason("Invalid data found when processing input"),
            ffmpeg_reason("End of file"),
            ffmpeg_reason("Error number -1234 occurred"),
            http_reason(401, "Pipedrive", "unauthorized access"),
            http_reason(404, "Pipedrive", "Deal not found"),
            http_reason(429, "Pipedrive", "Request over limit"),
            http_reason(502, "Pipedrive", "Bad gateway"),
            transport_reason(httpx.ConnectError("[Errno 111] Connection refused")),
            transport_reason(httpx.ReadTimeout("")),
        ]
        out += [f"· {r}" for r in reasons]
    return [text.replace(str(root), "<day>").replace(str(FIXTURES), "<fixtures>") for text in out]


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_a_first_day_reads_as_the_golden_texts(day, lang, monkeypatch):
    texts = _texts(lang, day, monkeypatch)
    got = "\n\n".join(texts) + "\n"
    golden = GOLDEN / f"{lang}.txt"
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(got, encoding="utf-8")
    want = golden.read_text(encoding="utf-8") if golden.exists() else ""
    assert got == want, "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), str(golden), "now"))


@pytest.mark.parametrize("lang", catalogue.LANGUAGES)
def test_the_golden_texts_speak_one_language(lang):
    """The golden files themselves: no word of the other language outside data (names, paths, quoted words)."""
    text = (GOLDEN / f"{lang}.txt").read_text(encoding="utf-8")
    data = ["ivanova", "иван", "Ольг", "Ольга Петрова", "Иванова Мария", "Мария", "sidorova", "petrov",
            "apiCallCompleted", "callDetails", "generalCallID", "startTime", "Signature", "<day>", "<fixtures>",
            "Ogg", "FFmpeg", "М:/К:"]     # a format, a program, the transcript's prefixes: the same in both
    lines = [json.loads(line.split(" ", 4)[4])["message"] if line.startswith("POST /pbx") else line
             for line in text.splitlines() if not line.startswith(("$ compliance", "[exit "))]   # the person's part
    assert foreign("\n".join(lines), lang, data) == []
    assert text.count("[exit ") == 7


def test_no_manager_page_shows_a_folder_of_the_lead_machine(day, tmp_path):
    """Each ``managers/<key>/`` folder may be sent to that manager alone: its pages name a call's file, never the
    folders it lies in on the lead's machine (issue 23 point 6; the review app's pages: tests/test_web_pages.py).
    A recording's player links to the file where it lies unless the set is written with ``--copy-audio``, the way
    to send a folder to a manager; this day has transcripts only, so no page links anywhere."""
    out = tmp_path / "reports"
    run = CliRunner().invoke(cli, ["report", "--db", str(day / "h.db"), "--team", str(day / "team.yaml"),
                                   "--out", str(out)])
    assert run.exit_code == 0, run.output
    pages = sorted((out / "managers").rglob("*.html"))
    assert len(pages) >= 3      # the manager's page and a page per call
    recorded = sorted((day / "2026-11-27" / "ivanova").glob("*.txt"))
    seen_names = 0
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for folder in (str(day), str(day / "2026-11-27"), str(tmp_path), "/tmp/", "/home/"):
            assert folder not in html, f"{page.relative_to(out)} shows {folder}"
        seen_names += sum(f.name in html for f in recorded)
    assert seen_names >= 2      # the file is still named, by its name
