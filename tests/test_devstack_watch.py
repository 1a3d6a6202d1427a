"""The reload watcher notices added, changed and removed files, and nothing else."""

from __future__ import annotations

import os
from pathlib import Path

from devstack.watch import Watcher


def bump(path: Path) -> None:
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))


def test_changes_are_reported_once_by_relative_path(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "app.py").write_text("x = 1\n")
    (tmp_path / "lib" / "a.py").write_text("a = 1\n")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "other.py").write_text("")
    watcher = Watcher(tmp_path, ("app.py", "lib", "config.json"))
    assert watcher.changes() == []

    bump(tmp_path / "app.py")
    (tmp_path / "lib" / "b.py").write_text("b = 1\n")
    (tmp_path / "lib" / "a.py").unlink()
    bump(tmp_path / "other.py")  # not watched
    assert watcher.changes() == ["app.py", "lib/a.py", "lib/b.py"]
    assert watcher.changes() == []


def test_caches_and_editor_droppings_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "lib" / "__pycache__").mkdir(parents=True)
    watcher = Watcher(tmp_path, ("lib", "missing.py"))
    (tmp_path / "lib" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"")
    (tmp_path / "lib" / ".a.py.swp").write_bytes(b"")
    (tmp_path / "lib" / "a.pyc").write_bytes(b"")
    assert watcher.changes() == []
