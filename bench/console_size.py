"""The console's first load: what a browser fetches to open `/console` (the page, its
script and its stylesheet, as `make console` built them), raw and compressed, against
the budget of issue #15 (250 KB compressed). The editor's own logic adds nothing later:
everything is in that one script."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

from infra.resources import PROJECT_DIR

ASSETS = PROJECT_DIR / "chalicelib" / "console" / "assets"
BUDGET_COMPRESSED = 250 * 1024


@dataclass(frozen=True)
class FirstLoad:
    files: List[Tuple[str, int, int]]  # name, raw bytes, gzipped bytes

    @property
    def raw(self) -> int:
        return sum(raw for _, raw, _ in self.files)

    @property
    def compressed(self) -> int:
        return sum(packed for _, _, packed in self.files)

    @property
    def within_budget(self) -> bool:
        return self.compressed <= BUDGET_COMPRESSED


def measure(folder: Path = ASSETS) -> FirstLoad:
    """The built page's assets and the page itself, each gzipped at level 9 (what a CDN or
    API Gateway's compression sends). Fails when the console is not built."""
    from chalicelib.console import page_html

    manifest = json.loads((folder / "manifest.json").read_text())
    parts = [("console (HTML)", page_html(manifest["script"], manifest["style"]).encode())]
    parts += [(name, (folder / name).read_bytes()) for name in (manifest["script"], manifest["style"])]
    return FirstLoad([(name, len(data), len(gzip.compress(data, 9))) for name, data in parts])
