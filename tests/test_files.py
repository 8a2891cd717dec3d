"""The one atomic-write helper: through symlinks, keeping modes, nothing left behind on failure."""
from __future__ import annotations

import os
import stat

import pytest

from compliance.files import write_atomic


def test_new_file_gets_the_usual_mode(tmp_path):
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a.txt", "привет")
    finally:
        os.umask(old)
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "привет"
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o644


def test_existing_mode_is_kept_and_symlink_written_through(tmp_path):
    real = tmp_path / "real" / "team.yaml"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "team.yaml"
    link.symlink_to(real)
    assert write_atomic(link, b"new") == real
    assert link.is_symlink() and real.read_text(encoding="utf-8") == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ["team.yaml"]


def test_missing_folder_raises_and_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "x.csv", "a")
    assert list(tmp_path.iterdir()) == []
