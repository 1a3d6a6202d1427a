"""What a cold start pays: Lambda's init imports app.py in a fresh interpreter, and every
cold page view waits for it. Importing app builds no pydantic model and loads none of what
only writes, editors' reads, the scheduled functions or `/openapi.json` need, nor the
run-time libraries those use: each loads on first use (`make bench` times the import
against a bare Chalice app; docs/benchmarks.md, "Cold start")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import List

from infra.resources import PROJECT_DIR, StageResources

# Loaded on first use, never by the import: model building, and what no public read needs.
NOT_AT_IMPORT = [
    "pydantic.fields",  # defining any model imports it: `from pydantic import BaseModel` does not
    "chalicelib.core.fields",
    "chalicelib.core.outcomes",
    "chalicelib.core.stage",
    "chalicelib.store.models",
    "chalicelib.web.models",
    "chalicelib.web.openapi",
    "chalicelib.writes",
    "chalicelib.editorial.diffs",
    "chalicelib.upkeep.backups",
    "chalicelib.upkeep.redrive",
    "chalicelib.events",
    "chalicelib.schemas",
    "jsonschema_rs",
    "jsonpatch",
    "chalicelib.console",  # the console's page and assets: loaded by their routes only
]


def loaded_after(code: str) -> List[str]:
    """Which of NOT_AT_IMPORT a fresh interpreter holds after `code`, with a deployed
    stage's variables and no AWS credentials (nothing may reach AWS)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(StageResources.for_stage("dev").environment(), AWS_DEFAULT_REGION="us-east-1")
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {NOT_AT_IMPORT!r} if m in sys.modules]))"
    result = subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", probe], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=True
    )
    found: List[str] = json.loads(result.stdout.strip().splitlines()[-1])
    return found


def test_importing_app_builds_no_model_and_loads_nothing_only_other_paths_need() -> None:
    assert loaded_after("import app") == []
