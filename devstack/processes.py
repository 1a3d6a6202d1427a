"""Child processes, each in a process group of its own, stopped with TERM and then KILL.

A child in its own session does not get the terminal's Ctrl-C: the supervisor decides
the order things stop in (the children before the AWS emulator they talk to), and a
group kill also reaches anything a child started.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Mapping, Optional, Sequence

STOP_TIMEOUT_SECONDS = 5.0


class Child:
    def __init__(
        self, name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path, pass_fds: Sequence[int] = ()
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = dict(env)
        self._cwd = cwd
        self._pass_fds = tuple(pass_fds)
        self._process: Optional[subprocess.Popen[bytes]] = None
        self.exit_reported = False

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    def start(self) -> None:
        self.exit_reported = False
        self._process = subprocess.Popen(  # noqa: S603 (our own interpreter and modules)
            self._argv, env=self._env, cwd=self._cwd, pass_fds=self._pass_fds, start_new_session=True
        )

    def exit_code(self) -> Optional[int]:
        """None while it runs (or before it started)."""
        return self._process.poll() if self._process else None

    def stop(self, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
        process = self._process
        if process is None:
            return
        group = process.pid  # a new session's leader: its pid is the group id
        if process.poll() is None:
            _signal_group(group, signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                process.wait()
        # Whatever the child itself started and left behind goes with it.
        _signal_group(group, signal.SIGKILL)
        self._process = None


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def exit_with_parent(interval: float = 1.0) -> None:
    """Ends this process when its parent is gone (killed with -9, say), so a child of the
    supervisor never outlives it; the supervisor's own stop is the usual way out."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(interval)
        print(f"devstack: parent process {parent} is gone; exiting", file=sys.stderr, flush=True)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def quiet_sdk_logs() -> None:
    """The AWS SDK says at INFO where it found credentials and endpoints, on every client
    it builds; the service's own lines are what a developer wants to read."""
    for name in ("botocore", "boto3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # In Lambda each request has a process of its own; the local server's threads share
    # one client, whose pool of 10 connections overflows harmlessly under a burst.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
