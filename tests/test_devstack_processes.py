"""Child processes stop with their whole process group, by TERM and, if need be, KILL."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from devstack.processes import Child
from tests.helpers import wait_for
from tests.stack import alive


def wait_for_file(path: Path, timeout: float = 10.0) -> str:
    written: str = wait_for(
        lambda: path.exists() and path.read_text().strip(), timeout, f"{path} to be written", interval=0.05
    )
    return written


def python_child(tmp_path: Path, code: str) -> Child:
    return Child("test", [sys.executable, "-c", code], dict(os.environ), tmp_path)


def test_stop_ends_the_child_and_what_it_started(tmp_path: Path) -> None:
    marker = tmp_path / "grandchild.pid"
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(marker)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(60)\n"
    )
    child = python_child(tmp_path, code)
    child.start()
    grandchild = int(wait_for_file(marker))
    pid = child.pid
    assert pid is not None
    assert child.exit_code() is None
    child.stop()
    assert not alive(pid)
    # Init reaps the orphaned grandchild, not us: it may take a moment to go.
    wait_for(lambda: not alive(grandchild), 5, f"the grandchild {grandchild} to end", interval=0.05)
    assert child.pid is None


def test_a_child_that_ignores_term_is_killed_after_the_timeout(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(ready)!r}, 'w').write('yes')\n"
        "time.sleep(60)\n"
    )
    child = python_child(tmp_path, code)
    child.start()
    wait_for_file(ready)
    started = time.monotonic()
    child.stop(timeout=0.5)
    assert 0.5 <= time.monotonic() - started < 5


def test_a_child_that_exited_says_with_which_code(tmp_path: Path) -> None:
    child = python_child(tmp_path, "raise SystemExit(3)")
    child.start()
    wait_for(lambda: child.exit_code() is not None, 10, "the child to exit", interval=0.05)
    assert child.exit_code() == 3
    child.stop()
