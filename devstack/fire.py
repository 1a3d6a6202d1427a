"""Commands that act on a running local stack: fire a schedule now, issue a token.

They find the stack through its state file (devstack.state), point this process at the
same AWS endpoint with the stage's environment, and run the app's own code here.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import traceback

from chalice.app import Chalice
from chalice.test import Client

from chalicelib import auth
from chalicelib.services import get_services
from devstack import state
from devstack.aws import apply_environment, emulated_environment
from devstack.processes import quiet_sdk_logs
from devstack.schedule import Scheduler
from infra.resources import PROJECT_DIR, StageResources


def connect(port: int) -> state.StackState:
    """Points this process at the running stack's AWS, with its stage's environment."""
    stack = state.read(port)
    if stack.aws_endpoint is not None:
        apply_environment(os.environ, emulated_environment(os.environ, stack.aws_endpoint, stack.region))
    os.environ.update(StageResources.for_stage(stack.stage).environment())
    os.environ["QUEUE_URL"] = stack.queue_url
    return stack


def _load_app() -> Chalice:
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    app: Chalice = importlib.import_module("app").app
    return app


def fire(port: int, name: str) -> int:
    """Invokes one `@app.schedule` function now, with a scheduled event; prints what it returned."""
    try:
        stack = connect(port)
    except state.StackNotRunning as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
    app = _load_app()
    client = Client(app, stage_name=stack.stage, project_dir=str(PROJECT_DIR))
    scheduler = Scheduler(app, stack.stage, stack.region, lambda fn, event: client.lambda_.invoke(fn, event).payload)
    if name not in scheduler.schedules:
        known = ", ".join(sorted(scheduler.schedules)) or "app.py has none"
        print(f"devstack: no scheduled function '{name}' (scheduled functions: {known})", file=sys.stderr)
        return 2
    try:
        result = scheduler.fire(name)
    except Exception:
        traceback.print_exc()
        print(f"devstack: {name} raised", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


def token(port: int, scope: auth.Scope, name: str) -> int:
    """Issues a token in the running stack's table; prints it (and only it) on stdout."""
    try:
        connect(port)
    except state.StackNotRunning as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    secret, record = auth.issue_token(get_services().repository, name, scope)
    print(secret)
    print(f"devstack: token {record.tokenId} ('{name}', scope {scope}) issued", file=sys.stderr)
    return 0
