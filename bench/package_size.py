"""The Lambda deployment package: `chalice package` for a stage (through the release
path, `infra.package`), zipped and unzipped, and what takes the room."""

from __future__ import annotations

import tempfile
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

from infra.package import package
from infra.resources import StageResources

# Our budget, well inside Lambda's own limits (50 MB zipped for a direct upload, 250 MB
# unzipped). It was 5 MiB until settings schemas brought jsonschema-rs (about 6 MiB zipped:
# one compiled library, imported only by writes that validate): docs/benchmarks.md says why
# it earns its place.
LIMIT_ZIPPED = 12 * 1024 * 1024


@dataclass(frozen=True)
class PackageSize:
    stage: str
    zipped: int
    unzipped: int
    files: int
    largest: List[Tuple[str, int]]  # top-level entries, by unzipped bytes


def measure(stage: str = "dev") -> PackageSize:
    with tempfile.TemporaryDirectory(prefix="mm-package-") as folder:
        package(StageResources.for_stage(stage), Path(folder))
        return sizes(stage, Path(folder) / "deployment.zip")


def sizes(stage: str, archive: Path) -> PackageSize:
    with zipfile.ZipFile(archive) as opened:
        entries = opened.infolist()
    by_top: Counter[str] = Counter()
    for entry in entries:
        top = entry.filename.split("/", 1)[0]
        by_top[top.split("-")[0] if top.endswith(".dist-info") else top] += entry.file_size
    return PackageSize(
        stage=stage,
        zipped=archive.stat().st_size,
        unzipped=sum(entry.file_size for entry in entries),
        files=len(entries),
        largest=by_top.most_common(5),
    )
