"""GET /openapi.json as a third-party team's tools take it: Spectral (`spectral:oas`) and
Redocly (recommended rules) lint it with no error and no warning (the rules switched off
are in tests/clients/, each with its reason), and openapi-typescript, with its default
settings, makes types that tests/clients/usage.ts compiles against under `tsc --strict`:
a site created with only a name, an operation read before it has a version, a page
read without a CORS grant, the JavaScript client's own types.

The tools are the npm packages locked in tests/clients/package-lock.json, which
`make test` installs (`npm ci`); nothing here reaches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List

import pytest
from chalice.test import Client

from infra.resources import PROJECT_DIR, StageResources

TOOLS = Path(__file__).resolve().parent / "clients"
BIN = TOOLS / "node_modules" / ".bin"
# Redocly's usage data and update check, off (redocly.yaml says `telemetry: off` too).
OFFLINE = {"REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}


def run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if not (BIN / tool).exists():
        pytest.fail(f"{BIN / tool} is missing: `make openapi-tools` installs tests/clients' npm packages (npm ci)")
    return subprocess.run(  # noqa: S603 (the locked tools, with arguments of ours)
        [str(BIN / tool), *args],
        cwd=TOOLS,
        env={**os.environ, **OFFLINE},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The document as GET /openapi.json serves it, in a file."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in StageResources.for_stage("local").environment().items():
            patch.setenv(name, value)
        from app import app

        with Client(app, stage_name="local", project_dir=str(PROJECT_DIR)) as client:
            response = client.http.get("/openapi.json")
    assert response.status_code == 200, response.body
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_bytes(response.body)
    return path


def test_spectral_finds_nothing_to_warn_about(served: Path) -> None:
    result = run("spectral", "lint", str(served), "--ruleset", ".spectral.yaml", "--format", "json", "--quiet")
    findings: List[Dict[str, Any]] = json.loads(result.stdout or "[]")
    described = [f"{item['code']} at {'.'.join(map(str, item['path']))}: {item['message']}" for item in findings]
    assert described == [], "\n".join(described[:30])
    assert result.returncode == 0, result.stderr


def test_redocly_finds_no_error_and_no_warning(served: Path) -> None:
    result = run("redocly", "lint", str(served), "--config", "redocly.yaml", "--format", "json")
    report = json.loads(result.stdout)
    described = [
        f"{problem['ruleId']} at {problem['location'][0]['pointer']}: {problem['message']}"
        for problem in report["problems"]
    ]
    assert described == [], "\n".join(described[:30])
    assert report["totals"] == {**report["totals"], "errors": 0, "warnings": 0}
    assert result.returncode == 0, result.stderr


def test_typescript_types_let_a_strict_client_do_what_the_api_allows(served: Path) -> None:
    types = served.with_name("api.d.ts")
    generated = run("openapi-typescript", str(served), "--output", str(types))
    assert generated.returncode == 0, generated.stdout + generated.stderr
    config = served.with_name("tsconfig.json")
    config.write_text(
        json.dumps(
            {
                "extends": str(TOOLS / "tsconfig.json"),
                "compilerOptions": {"paths": {"metadata-manager-api": [str(types)]}},
                "files": [str(TOOLS / "usage.ts")],
            }
        )
    )
    checked = run("tsc", "--project", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
