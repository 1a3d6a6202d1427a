"""Notices changes to the code the functions run, so the stack can restart them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Sequence

# What the local stack reloads on: the functions' code and the stage configuration.
WATCHED = ("app.py", "chalicelib", ".chalice/config.json")
_IGNORED_DIRS = {"__pycache__"}
_IGNORED_SUFFIXES = (".pyc", ".pyo", ".swp", "~")


class Watcher:
    """Compares file modification times between calls: cheap for a few hundred files,
    and free of the walk over the whole project (virtualenv included) that the
    stat-based reloader of `chalice local` does every second."""

    def __init__(self, root: Path, paths: Sequence[str] = WATCHED) -> None:
        self._root = root
        self._paths = list(paths)
        self._seen = self.snapshot()

    def _files(self) -> List[Path]:
        files: List[Path] = []
        for name in self._paths:
            path = self._root / name
            if path.is_file():
                files.append(path)
                continue
            for folder, dirs, names in os.walk(path):
                dirs[:] = [d for d in dirs if d not in _IGNORED_DIRS and not d.startswith(".")]
                files.extend(Path(folder) / n for n in names if not n.endswith(_IGNORED_SUFFIXES))
        return files

    def snapshot(self) -> Dict[str, float]:
        times: Dict[str, float] = {}
        for path in self._files():
            try:
                times[str(path.relative_to(self._root))] = path.stat().st_mtime
            except OSError:  # removed between the walk and the stat
                continue
        return times

    def changes(self) -> List[str]:
        """The files added, changed or removed since the last call, by relative path."""
        now = self.snapshot()
        changed = sorted(name for name in now.keys() | self._seen.keys() if now.get(name) != self._seen.get(name))
        self._seen = now
        return changed
