"""The house rules the code itself must keep: lint and types clean, small modules, no import cycles, every
module importable on its own (issue 9)."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "compliance"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))
MAX_LINES = 500


def _name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a test extra: pip install -e '.[test]'"
    run = subprocess.run([ruff, "check", "--no-cache", "compliance", "tests", "benchmarks", "cli.py"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_is_clean():
    run = subprocess.run([sys.executable, "-m", "mypy", "compliance"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_every_module_imports_on_its_own():
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    for name in map(_name, MODULES):
        run = subprocess.run([sys.executable, "-c", code, name], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, f"{name}: {run.stderr[-2000:]}"


def _imports(path: Path) -> set[str]:
    """compliance modules a module imports at module level (function-level imports are lazy by design)."""
    out = set()
    package = _name(path) if path.name == "__init__.py" else _name(path).rpartition(".")[0]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("compliance"):
                out.add(base)
                out.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("compliance"))
    return out


def test_no_import_cycle_between_modules():
    names = {_name(p): p for p in MODULES}
    graph = {n: {m for m in _imports(p) if m in names and m != n} for n, p in names.items()}
    # A package's __init__ may import its own submodules (it is their front door); that is not a cycle.
    for n in graph:
        graph[n] = {m for m in graph[n] if not m.startswith(n + ".")}
    state: dict[str, int] = {}

    def visit(n: str, trail: list[str]) -> None:
        state[n] = 1
        for m in sorted(graph[n]):
            if state.get(m) == 1:
                pytest.fail("import cycle: " + " → ".join(trail[trail.index(m):] + [m]) if m in trail
                            else f"import cycle through {m}")
            if m not in state:
                visit(m, trail + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
