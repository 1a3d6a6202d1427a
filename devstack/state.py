"""Where a running local stack says how to reach it, for `python -m devstack fire`.

One small JSON file per API port in the temporary directory, written once the stack is
up and removed when it stops.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional


class StackNotRunning(Exception):
    pass


@dataclass(frozen=True)
class StackState:
    pid: int
    stage: str
    api_url: str
    region: str
    queue_url: str
    dead_letter_queue_url: str
    # None when the stack uses the endpoint and credentials of the environment (--aws).
    aws_endpoint: Optional[str]


def state_dir() -> Path:
    return Path(os.environ.get("DEVSTACK_STATE_DIR") or Path(tempfile.gettempdir()) / f"devstack-{os.getuid()}")


def state_path(port: int, directory: Optional[Path] = None) -> Path:
    return (directory or state_dir()) / f"metadata-manager-{port}.json"


def write(port: int, state: StackState) -> Path:
    path = state_path(port)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(asdict(state), indent=2))
    temporary.replace(path)  # readers never see half a file
    return path


def read(port: int, directory: Optional[Path] = None) -> StackState:
    path = state_path(port, directory)
    try:
        data = json.loads(path.read_text())
        state = StackState(**data)
    except (OSError, ValueError, TypeError) as exc:
        raise StackNotRunning(f"no local stack on port {port} (start one with `make run`)") from exc
    if not _alive(state.pid):
        raise StackNotRunning(f"the local stack on port {port} (pid {state.pid}) is gone; start it again")
    return state


def remove(port: int) -> None:
    state_path(port).unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
