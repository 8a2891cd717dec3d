"""Shared fixtures."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from compliance.scoring.script import SalesScript
from compliance.scoring.script_file import load_script

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
# Frozen copies of the bundled scripts: unit tests keep passing when a lead edits scripts_yaml/.
FROZEN_SCRIPTS = FIXTURES / "scripts"
FROZEN_DEFAULT = FROZEN_SCRIPTS / "sales_call.frozen.yaml"
# The evaluation harnesses (labelled sets, confusion tables) live in benchmarks/, beside the reports that print
# them; the accuracy tests import them from there.
if str(ROOT / "benchmarks") not in sys.path:
    sys.path.append(str(ROOT / "benchmarks"))


@pytest.fixture(scope="session")
def script() -> SalesScript:
    """The bundled default script as it ships (with its acts), for the tests of what the matcher understands."""
    from compliance.resources import default_script_path

    return load_script(default_script_path())


@pytest.fixture(scope="session")
def default_script() -> SalesScript:
    """The default script as the unit tests were written against (a frozen copy of the bundled one)."""
    return load_script(FROZEN_DEFAULT)


@pytest.fixture(scope="session", autouse=True)
def _embedding_cache(tmp_path_factory):
    """The phrasings' vector cache of the whole run in a temporary folder, never the user's cache folder (the
    subprocesses that tests start inherit it)."""
    import os

    from compliance.scoring.vector_cache import ENV

    old = os.environ.get(ENV)
    os.environ[ENV] = str(tmp_path_factory.mktemp("embedding-cache"))
    yield
    if old is None:
        os.environ.pop(ENV, None)
    else:
        os.environ[ENV] = old


@pytest.fixture()
def english(monkeypatch):
    """The run's language is English (``COMPLIANCE_LANG=en``): for tests of an error's English wording (the
    language walk, tests/test_languages*.py, checks the Russian of the same errors)."""
    monkeypatch.setenv("COMPLIANCE_LANG", "en")
