"""Cold start: what Lambda pays at init, importing the handler's module in a fresh
interpreter. app.py against a minimal Chalice app importing the same run-time
dependencies (bench/baseline_app), in alternation, median of each. Both run with their
bytecode compiled beforehand, as the deployment package ships it."""

from __future__ import annotations

import compileall
import os
import py_compile
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from infra.resources import PROJECT_DIR, StageResources

BASELINE_DIR = Path(__file__).resolve().parent / "baseline_app"
TARGET_RATIO = 1.2
# Times the import alone: the interpreter's own start is the same for both.
PROBE = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"


@dataclass(frozen=True)
class ColdStart:
    runs: int
    app_seconds: float
    baseline_seconds: float
    app_process_seconds: float
    baseline_process_seconds: float
    heaviest: List[Tuple[str, float]]

    @property
    def ratio(self) -> float:
        return self.app_seconds / self.baseline_seconds


def _environment() -> Dict[str, str]:
    # What a deployed function has: its stage's variables and a region, no credentials
    # needed (nothing may reach AWS at import).
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(StageResources.for_stage("dev").environment())
    env.update(AWS_DEFAULT_REGION="us-east-1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _import_seconds(directory: Path, env: Dict[str, str]) -> Tuple[float, float]:
    started = _clock()
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", PROBE], cwd=directory, env=env, capture_output=True, text=True, check=True
    ).stdout
    return float(output.strip().splitlines()[-1]), _clock() - started


def _clock() -> float:
    import time

    return time.perf_counter()


def heaviest_imports(env: Dict[str, str], directory: Path, top: int = 5) -> List[Tuple[str, float]]:
    """The project's own modules that take longest to import (self time, ms)."""
    stderr = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    own: List[Tuple[str, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = [part.strip() for part in line.split(":", 1)[1].split("|")]
        if not parts[0].isdigit():
            continue
        name = parts[2].strip()
        if name == "app" or name.startswith("chalicelib"):
            own.append((name, int(parts[0]) / 1000))
    return sorted(own, key=lambda item: -item[1])[:top]


def _compiled_copy(sources: List[Path], into: Path) -> Path:
    """The handler's code with its bytecode beside it, as `make package` ships it (the
    dependencies in the venv have theirs from pip)."""
    into.mkdir(parents=True)
    for source in sources:
        if source.is_dir():
            shutil.copytree(source, into / source.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, into / source.name)
    compileall.compile_dir(str(into), quiet=2, invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    return into


def measure(runs: int = 15) -> ColdStart:
    env = _environment()
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = _compiled_copy([PROJECT_DIR / "app.py", PROJECT_DIR / "chalicelib"], Path(tmp) / "app")
        baseline_dir = _compiled_copy([BASELINE_DIR / "app.py"], Path(tmp) / "baseline")
        # One unmeasured run each: the first reads the files from disk.
        _import_seconds(app_dir, env)
        _import_seconds(baseline_dir, env)
        app: List[Tuple[float, float]] = []
        baseline: List[Tuple[float, float]] = []
        for _ in range(runs):
            app.append(_import_seconds(app_dir, env))
            baseline.append(_import_seconds(baseline_dir, env))
        heaviest = heaviest_imports(env, app_dir)
    return ColdStart(
        runs=runs,
        app_seconds=statistics.median(a for a, _ in app),
        baseline_seconds=statistics.median(b for b, _ in baseline),
        app_process_seconds=statistics.median(p for _, p in app),
        baseline_process_seconds=statistics.median(p for _, p in baseline),
        heaviest=heaviest,
    )
