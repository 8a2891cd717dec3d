"""The wheel carries the default scripts and templates: build it, install it into a fresh venv, use it."""
from __future__ import annotations

import os
import site
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_finds_packaged_script(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("call_compliance-*.whl"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    py = env_dir / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    # Dependencies come from this interpreter's site-packages (PYTHONPATH does not run .pth files, so the
    # editable install of the checkout stays invisible and the wheel's copy is the one imported).
    deps = os.pathsep.join([sysconfig.get_paths()["purelib"], *site.getsitepackages()])
    env = {**os.environ, "PYTHONPATH": deps}
    where = subprocess.run([str(py), "-c", "import compliance.resources as r; print(r.resource_dir('scripts_yaml'));"
                            "print(r.resource_dir('reports_templates'))"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(str(env_dir) in w for w in where), where
    check = subprocess.run([str(env_dir / "bin" / "compliance"), "script", "check"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "sales_call.ru.yaml: ok" in check.stdout and str(env_dir) in check.stdout
    # The message catalogue travels in the wheel: help in Russian by default, in English on request.
    for lang, heading in (("ru", "Использование:"), ("en", "Usage:")):
        shown = subprocess.run([str(env_dir / "bin" / "compliance"), "--lang", lang, "--help"], cwd=tmp_path,
                               env={**env, "COMPLIANCE_CACHE_DIR": str(tmp_path / "cache")}, capture_output=True, text=True)
        assert shown.returncode == 0 and shown.stdout.startswith(heading), shown.stdout + shown.stderr
    # Scoring needs the package data too (the synonym groups of cues).
    call = tmp_path / "call.txt"
    call.write_text((ROOT / "tests" / "fixtures" / "calls" / "verbatim_01_dental_site.txt").read_text(encoding="utf-8"),
                    encoding="utf-8")
    scored = subprocess.run([str(env_dir / "bin" / "compliance"), "score", str(call), "--json"],
                            cwd=tmp_path, env=env, capture_output=True, text=True)
    assert scored.returncode == 0, scored.stderr
    assert '"adherence": 100.0' in scored.stdout
