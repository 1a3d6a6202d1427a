"""app.py reads the queues' names when it is imported: without it, it refuses to
load and names the variable, instead of wiring the worker to some default queue."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Dict

import pytest

from infra.resources import PROJECT_DIR, StageResources

STAGE_VARIABLES = {name for stage in ("local", "dev", "prod") for name in StageResources.for_stage(stage).environment()}


def python(code: str, **overrides: str) -> subprocess.CompletedProcess[str]:
    """`code` in a fresh interpreter in the project, with no stage's variables set (but
    `overrides`)."""
    env: Dict[str, str] = {name: value for name, value in os.environ.items() if name not in STAGE_VARIABLES}
    env.update(overrides)
    return subprocess.run(  # noqa: S603 (our own interpreter and code)
        [sys.executable, "-c", code], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize("value", [None, "", "  "])
def test_importing_app_without_the_write_queue_name_fails_naming_it(value: str | None) -> None:
    overrides = {} if value is None else {"WRITE_QUEUE_NAME": value}
    result = python("import app", **overrides)
    assert result.returncode != 0
    assert "MissingSetting: WRITE_QUEUE_NAME is not set" in result.stderr
    assert ".chalice/config.json" in result.stderr


def test_importing_app_without_the_webhook_queue_name_fails_naming_it() -> None:
    result = python("import app", WRITE_QUEUE_NAME="some-stage-writes.fifo")
    assert result.returncode != 0
    assert "MissingSetting: WEBHOOK_QUEUE_NAME is not set" in result.stderr


def test_with_the_queue_names_set_the_functions_listen_to_those_queues() -> None:
    code = "import app; print(sorted(s.queue for s in app.app.event_sources if hasattr(s, 'queue')))"
    result = python(code, WRITE_QUEUE_NAME="some-stage-writes.fifo", WEBHOOK_QUEUE_NAME="some-stage-webhooks")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['some-stage-webhooks', 'some-stage-writes.fifo']"


def test_chalice_imports_app_with_the_stages_own_variables() -> None:
    """What `chalice package --stage prod` and `chalice deploy --stage prod` see."""
    code = (
        "import os; from chalice.cli.factory import CLIFactory; "
        "app = CLIFactory('.', environ=os.environ).create_config_obj(chalice_stage_name='prod').chalice_app; "
        "print([s.queue for s in app.event_sources if hasattr(s, 'queue')])"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['metadata-manager-prod-webhooks', 'metadata-manager-prod-writes.fifo']"


def test_the_infra_commands_load_the_app_with_the_local_stages_variables_unless_set() -> None:
    code = (
        "from infra.functions import load_app; "
        "print(sorted(s.queue for s in load_app().event_sources if hasattr(s, 'queue')))"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['metadata-manager-local-webhooks', 'metadata-manager-local-writes.fifo']"
    kept = python(code, WRITE_QUEUE_NAME="chosen-writes.fifo")
    assert kept.stdout.strip() == "['chosen-writes.fifo', 'metadata-manager-local-webhooks']", kept.stderr
