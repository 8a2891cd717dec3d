"""Shared fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

from compliance.resources import default_script_path
from compliance.scoring.script import SalesScript, load_script

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def default_script() -> SalesScript:
    return load_script(default_script_path())
