"""End to end on real recordings: `compliance fetch` from a fake Binotel on loopback → `compliance batch` with the
real model → `compliance daily`, whose dials and connected calls come from the PBX (the unanswered calls were never
downloaded, the voicemail the PBX calls answered is not a connected call)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from compliance.cli import cli

from .conftest import FIXTURES
from .fake_pbx import FakePbx, start

pytestmark = pytest.mark.slow
DAY = dt.date(2026, 11, 27)


def _call(cid: str, hour: int, disposition: str, billsec: int) -> dict:
    stamp = int(dt.datetime.combine(DAY, dt.time(hour)).timestamp())
    return {"generalCallID": cid, "startTime": str(stamp), "callType": "1", "internalNumber": "101",
            "externalNumber": "0671234567", "billsec": str(billsec), "disposition": disposition,
            "recordingStatus": "uploaded"}


def test_fetch_then_batch_then_daily_counts_dials_from_the_pbx(tmp_path):
    state = FakePbx()
    state.binotel_calls = [_call("501", 10, "ANSWER", 70), _call("502", 11, "NOANSWER", 0),
                           _call("503", 12, "ANSWER", 9), _call("504", 13, "BUSY", 0)]
    state.records = {"501": (FIXTURES / "audio" / "call_full.stereo.ogg").read_bytes(),
                     "503": (FIXTURES / "audio" / "voicemail.stereo.ogg").read_bytes()}
    state.suffixes = {"501": ".ogg", "503": ".ogg"}
    team = tmp_path / "team.yaml"
    team.write_text('managers:\n  ivanova: {name: "Иванова Мария", pbx_extensions: [101]}\n', encoding="utf-8")
    server, url = start(state)
    try:
        env = {"BINOTEL_API_KEY": state.binotel_key, "BINOTEL_API_SECRET": state.binotel_secret,
               "BINOTEL_API_URL": f"{url}/api/4.0"}
        db, root = str(tmp_path / "h.db"), tmp_path / "recordings"
        fetched = CliRunner().invoke(cli, ["fetch", "binotel", "--since", "27.11.2026", "--root", str(root),
                                           "--db", db, "--team", str(team)], env=env)
    finally:
        server.shutdown()
        server.server_close()
    assert fetched.exit_code == 0, fetched.output
    assert fetched.output.splitlines()[-1] == "binotel 2026-11-27…2026-11-27: загружено 2, наборов без записи 2"
    assert "502: dial — без ответа — засчитан как набор, не оценивается" in fetched.output.splitlines()
    batch = CliRunner().invoke(cli, ["batch", str(root), "--db", db, "--team", str(team), "--workers", "1"])
    assert batch.exit_code == 0, batch.output  # the .pbx.json files beside the recordings are not transcripts
    assert "дозвонов   1 из 4" in batch.output
    daily = CliRunner().invoke(cli, ["daily", "ivanova", "--date", "2026-11-27", "--db", db])
    assert daily.exit_code == 0, daily.output
    assert "✅Кол-во наборов – 4 шт." in daily.output.splitlines()
    assert "✅Кол-во дозвонов – 1 шт." in daily.output.splitlines()  # 2 answered, one of them a voicemail
    export = CliRunner().invoke(cli, ["export", "--by", "day", "--format", "json", "--db", db])
    [row] = json.loads(export.output)
    assert (row["calls"], row["dials"], row["connected_calls"], row["contacts"]) == (4, 4, 1, 1)
