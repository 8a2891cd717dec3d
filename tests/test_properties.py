"""Property-based tests (Hypothesis, issue 10): for arbitrary text and bytes the readers either succeed or raise the
project's own error, never anything else; a parsed transcript never gives a client line to the manager."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compliance.errors import ComplianceError
from compliance.history.attribution import attribute, compile_patterns
from compliance.history.daily import render_export
from compliance.scoring.result import CallRecord, CallResult
from compliance.scoring.script_file import check_script_file
from compliance.scoring.transcript import load_transcript, parse_text_transcript

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
CLIENT = ["К", "К", "Клиент", "клиент", "K", "Клиент Андрей", "Абонент"]
MANAGER = ["М", "Менеджер", "M", "Менеджер Ольга", "Оператор"]
words = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\r\n\x0b\x0c\x1c\x1d\x1e"
                                        "\x85\u2028\u2029"), max_size=40)


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from([".txt", ".json"]))
def test_any_bytes_as_a_transcript_load_or_fail_cleanly(tmp_path, data, suffix):
    path = tmp_path / f"t{suffix}"
    path.write_bytes(data)
    try:
        load_transcript(path)
    except ComplianceError:
        pass


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["manager", "client"]), st.integers(0, 6), words), min_size=1, max_size=12))
def test_a_client_line_is_never_given_to_the_manager(turns):
    """Every line written with a client prefix (К:, Клиент:, Latin K:, Клиент Андрей:, …) is the client's."""
    prefixes = {"manager": MANAGER, "client": CLIENT}
    lines = [f"{prefixes[who][k % len(prefixes[who])]}: {text}" for who, k, text in turns]
    transcript = parse_text_transcript("\n".join(lines))
    assert [s.speaker for s in transcript.segments] == [who for who, _, _ in turns]


@SETTINGS
@given(st.binary(max_size=400))
def test_any_bytes_as_a_script_give_problems_or_a_script(tmp_path, data):
    path = tmp_path / "s.yaml"
    path.write_bytes(data)
    script, problems = check_script_file(path)
    assert (script is None) == bool(problems)


@SETTINGS
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="/\x00"),
                        min_size=1, max_size=20), min_size=1, max_size=4))
def test_attribution_from_any_file_name_succeeds_or_fails_cleanly(parts):
    root = Path("/calls")
    try:
        attribute(root.joinpath(*parts), root, patterns=compile_patterns(None))
    except ComplianceError:
        pass


@SETTINGS
@given(st.text(max_size=30), st.text(max_size=30))
def test_the_csv_writer_round_trips_any_name_and_never_starts_a_cell_with_a_formula(name, file):
    record = CallRecord(call_id="c", file=file, manager="m", manager_name=name, date="2026-11-27",
                        result=CallResult(script_id="s", level="newcomer", band=(85, 90), connected=False))
    rows = list(csv.DictReader(io.StringIO(render_export([record], "csv"), newline="")))
    for value, original in ((rows[0]["manager_name"], name), (rows[0]["file"], file)):
        assert not value.startswith(("=", "+", "-", "@"))
        assert value == original or value == "'" + original
    assert json.loads(render_export([record], "json"))[0]["manager_name"] == name
