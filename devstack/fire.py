"""`python -m devstack fire NAME`: runs one scheduled function now, against a running stack.

It finds the stack through its state file (devstack.state), points this process at the
same AWS endpoint with the stage's environment, and runs the function's code here, so
its logs and its answer show in the terminal that fired it.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Callable, Optional

from chalice.app import Chalice
from chalice.test import Client

from devstack import state
from devstack.aws import apply_environment, emulated_environment
from devstack.processes import quiet_sdk_logs
from devstack.schedule import ScheduleError, Scheduler
from infra.resources import PROJECT_DIR, StageResources


def connect(port: int, state_directory: Optional[Path] = None) -> state.StackState:
    """Points this process at the running stack's AWS, with its stage's environment."""
    stack = state.read(port, state_directory)
    if stack.aws_endpoint is not None:
        apply_environment(os.environ, emulated_environment(os.environ, stack.aws_endpoint, stack.region))
    os.environ.update(StageResources.for_stage(stack.stage).environment())
    os.environ["QUEUE_URL"] = stack.queue_url
    return stack


def connect_or_say(port: int, state_directory: Optional[Path] = None) -> Optional[state.StackState]:
    """`connect`, or None once it has said on stderr that no stack runs on `port`."""
    try:
        return connect(port, state_directory)
    except state.StackNotRunning as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return None


def _load_app() -> Chalice:
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    app: Chalice = importlib.import_module("app").app
    return app


def fire(
    port: int, name: str, state_directory: Optional[Path] = None, load_app: Callable[[], Chalice] = _load_app
) -> int:
    """Invokes one `@app.schedule` function now, with a scheduled event; prints what it returned."""
    stack = connect_or_say(port, state_directory)
    if stack is None:
        return 2
    logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
    quiet_sdk_logs()
    app = load_app()
    client = Client(app, stage_name=stack.stage, project_dir=str(PROJECT_DIR))
    try:
        scheduler = Scheduler(
            app, stack.stage, stack.region, lambda fn, event: client.lambda_.invoke(fn, event).payload
        )
    except ScheduleError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
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
