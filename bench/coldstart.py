"""Cold start: what Lambda pays at init, importing the handler's module in a fresh
interpreter. app.py against a minimal Chalice app that imports the same run-time
libraries (boto3, which the Lambda runtime has, and every library of requirements.txt,
pydantic as `from pydantic import BaseModel`), in alternation, median of each; the import
alone and the whole process, each as a ratio. Both run with their bytecode compiled
beforehand, as the deployment package ships it.

The baseline imports libraries app.py loads only on first use (the JSON Schema library,
JSON Patch), so its time includes theirs: a second, stricter baseline imports only the
libraries `import app` itself loads, and its ratio is printed too."""

from __future__ import annotations

import compileall
import json
import os
import py_compile
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from infra.resources import PROJECT_DIR, StageResources

TARGET_RATIO = 1.10
REQUIREMENTS = PROJECT_DIR / "requirements.txt"
# How the baseline imports each run-time requirement: what an app that uses it imports
# (`import pydantic` alone costs almost nothing; every pydantic app imports BaseModel).
IMPORTS: Dict[str, Tuple[str, str]] = {
    # requirement: (top-level module, the import statement)
    "boto3": ("boto3", "import boto3"),
    "pydantic": ("pydantic", "from pydantic import BaseModel"),
    "python-json-logger": ("pythonjsonlogger", "from pythonjsonlogger.json import JsonFormatter"),
    "jsonschema-rs": ("jsonschema_rs", "import jsonschema_rs"),
    "jsonpatch": ("jsonpatch", "import jsonpatch"),
    # Webhook signatures (the webhooks work adds it to requirements.txt).
    "standardwebhooks": ("standardwebhooks", "from standardwebhooks import Webhook"),
}
# Times the import alone: the interpreter's own start is the same for both.
PROBE = "import time; t = time.perf_counter(); import app; print(time.perf_counter() - t)"


@dataclass(frozen=True)
class Timing:
    """Medians of one app's runs, in seconds."""

    name: str
    imports: Tuple[str, ...]
    import_seconds: float
    process_seconds: float


@dataclass(frozen=True)
class ColdStart:
    runs: int
    app: Timing
    baseline: Timing
    # Only the libraries `import app` loads itself (the others load on first use).
    strict: Timing
    heaviest: List[Tuple[str, float]]

    @property
    def ratio(self) -> float:
        """The import alone, against the baseline: the figure held to the target."""
        return self.app.import_seconds / self.baseline.import_seconds

    @property
    def process_ratio(self) -> float:
        return self.app.process_seconds / self.baseline.process_seconds

    @property
    def strict_ratio(self) -> float:
        return self.app.import_seconds / self.strict.import_seconds

    @property
    def strict_process_ratio(self) -> float:
        return self.app.process_seconds / self.strict.process_seconds


def runtime_requirements(text: str) -> List[str]:
    """The distributions requirements.txt names (boto3 first: the Lambda runtime has it)."""
    names = ["boto3"]
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(re.split(r"[\s<>=!~;\[]", line, maxsplit=1)[0].lower().replace("_", "-"))
    unknown = [name for name in names if name not in IMPORTS]
    if unknown:
        raise SystemExit(f"bench/coldstart.py: say in IMPORTS how the baseline imports {', '.join(unknown)}")
    return names


def baseline_source(requirements: Sequence[str]) -> str:
    lines = "\n".join(f"{IMPORTS[name][1]}  # noqa: F401" for name in requirements)
    return f'''"""The cold-start baseline: a Chalice app importing {", ".join(requirements)}, and nothing else."""

{lines}
from chalice.app import Chalice, Response

app = Chalice(app_name="baseline")


@app.route("/health")
def health() -> Response:
    return Response(body={{"status": "ok"}})
'''


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


def loaded_by_app(directory: Path, env: Dict[str, str], requirements: Sequence[str]) -> List[str]:
    """The requirements whose modules `import app` loads itself."""
    modules = {name: IMPORTS[name][0] for name in requirements}
    probe = f"import json, sys; import app; print(json.dumps([r for r, m in {modules!r}.items() if m in sys.modules]))"
    output = subprocess.run(  # noqa: S603
        [sys.executable, "-c", probe], cwd=directory, env=env, capture_output=True, text=True, check=True
    ).stdout
    found: List[str] = json.loads(output.strip().splitlines()[-1])
    return found


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


def _baseline(folder: Path, requirements: Sequence[str]) -> Path:
    source = folder / "source"
    source.mkdir(parents=True)
    (source / "app.py").write_text(baseline_source(requirements))
    return _compiled_copy([source / "app.py"], folder / "compiled")


def measure(runs: int = 15) -> ColdStart:
    env = _environment()
    requirements = runtime_requirements(REQUIREMENTS.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = _compiled_copy([PROJECT_DIR / "app.py", PROJECT_DIR / "chalicelib"], Path(tmp) / "app")
        eager = [name for name in requirements if name in loaded_by_app(app_dir, env, requirements)]
        dirs = {
            "app": app_dir,
            "baseline": _baseline(Path(tmp) / "baseline", requirements),
            "strict": _baseline(Path(tmp) / "strict", eager),
        }
        # One unmeasured run each: the first reads the files from disk.
        for directory in dirs.values():
            _import_seconds(directory, env)
        times: Dict[str, List[Tuple[float, float]]] = {name: [] for name in dirs}
        for _ in range(runs):
            for name, directory in dirs.items():
                times[name].append(_import_seconds(directory, env))
        heaviest = heaviest_imports(env, app_dir)

    def timing(name: str, imports: Sequence[str]) -> Timing:
        found = times[name]
        return Timing(
            name, tuple(imports), statistics.median(a for a, _ in found), statistics.median(p for _, p in found)
        )

    return ColdStart(
        runs=runs,
        app=timing("app", eager),
        baseline=timing("baseline", requirements),
        strict=timing("strict", eager),
        heaviest=heaviest,
    )
