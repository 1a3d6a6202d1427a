"""`chalice local` as a Chalice developer types it: without the local stack, every route
that needs AWS answers 503 saying what to run or set (never a dropped connection); with
`make run` running, `chalice local --stage local` uses its emulated AWS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator

import pytest
import requests

from infra.resources import PROJECT_DIR
from tests.helpers import assert_error, wait_for
from tests.stack import LocalStack, free_port, port_open, running_stack

pytestmark = pytest.mark.e2e

CHALICE = str(Path(sys.executable).parent / "chalice")


@contextmanager
def chalice_local(env: Dict[str, str], stage: str = "local") -> Iterator[str]:
    """`chalice local --stage STAGE` on a free port, as a developer starts it."""
    port = free_port()
    command = [CHALICE, "local", "--stage", stage, "--port", str(port), "--no-autoreload"]
    process = subprocess.Popen(  # noqa: S603
        command, cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_for(lambda: port_open(port), 30, f"chalice local on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def without_aws(**more: str) -> Dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    return {**env, "PYTHONUNBUFFERED": "1", **more}


@pytest.mark.parametrize("stage", ["local", "dev"])
def test_without_a_stack_routes_that_need_aws_answer_503_saying_what_to_do(tmp_path: Path, stage: str) -> None:
    with chalice_local(without_aws(DEVSTACK_STATE_DIR=str(tmp_path)), stage) as base:
        assert requests.get(f"{base}/health", timeout=10).status_code == 200
        protected = requests.put(
            f"{base}/sites/shop",
            json={"name": "Shop"},
            headers={"Authorization": "Bearer local-admin-token"},
            timeout=10,
        )
        public = requests.get(f"{base}/sites/shop/pages/home", timeout=10)
        for answer in (protected, public):
            body = assert_error(answer, 503, "ServiceUnavailable")
            assert "make run" in body["message"]
            assert "AWS_ENDPOINT_URL" in body["message"]
            assert answer.headers["X-Request-Id"] == body["requestId"]
        # The server is still there after them.
        assert requests.get(f"{base}/health", timeout=10).status_code == 200


def test_with_the_local_stack_running_chalice_local_uses_it(tmp_path: Path) -> None:
    token = f"chalice-local-{uuid.uuid4().hex[:8]}"
    with running_stack(tmp_path, token) as stack, chalice_local(without_aws(**state_of(stack))) as base:
        headers = {"Authorization": f"Bearer {token}"}
        accepted = requests.put(f"{base}/sites/via-chalice", json={"name": "Via chalice"}, headers=headers, timeout=10)
        assert accepted.status_code == 202, accepted.text
        # The stack's worker applies it; both servers read the same table.
        wait_for(
            lambda: requests.get(f"{base}/sites/via-chalice", headers=headers, timeout=10).status_code == 200,
            30,
            "the site, applied by the stack's worker",
        )
        assert requests.get(f"{stack.url}/sites/via-chalice", headers=headers, timeout=10).json()["name"] == (
            "Via chalice"
        )


def test_a_stack_that_stops_under_chalice_local_leaves_503s_not_dropped_connections(tmp_path: Path) -> None:
    token = f"chalice-local-{uuid.uuid4().hex[:8]}"
    with running_stack(tmp_path, token) as stack, chalice_local(without_aws(**state_of(stack))) as base:
        headers = {"Authorization": f"Bearer {token}"}
        assert requests.get(f"{base}/sites/nowhere", headers=headers, timeout=10).status_code == 404
        assert stack.stop() == 0
        for answer in (
            requests.put(f"{base}/sites/after", json={"name": "After"}, headers=headers, timeout=20),
            requests.get(f"{base}/sites/after/pages/home", timeout=20),
        ):
            assert_error(answer, 503, "ServiceUnavailable")


def state_of(stack: LocalStack) -> Dict[str, str]:
    return {"DEVSTACK_STATE_DIR": stack.env["DEVSTACK_STATE_DIR"]}
