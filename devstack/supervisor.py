"""Starts the local stack, restarts its code when it changes, and stops all of it.

The supervisor (this process) holds what outlives a code change: moto's server, the API's
listening socket, the provisioned resources and the seeded admin token. It never imports
app.py; the API and the worker each run in a child process, in a process group of its
own, and are restarted together when a watched file changes.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Dict, List, Optional

import boto3
import requests
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import access as auth
from chalicelib.core.stage import StageSettings
from chalicelib.services import Services
from devstack import state
from devstack.aws import Moto, apply_environment, emulated_environment, export_line
from devstack.processes import Child
from devstack.queue_metrics import QueueMetrics
from devstack.seed import Seed, Seeder, SeedError, load_seed
from devstack.watch import WATCHED, Watcher
from infra.resources import PROJECT_DIR, Provisioned, StageResources, provision

DEFAULT_ADMIN_TOKEN = "local-admin-token"  # noqa: S105 (a documented local-only default)
STAGE = "local"
HOST = "127.0.0.1"
# Connections the kernel holds for the API until it accepts them: more than the clients a
# burst opens at once (bench-burst goes to 200), so that none is refused or left waiting
# for a SYN retry while the server is busy (Linux caps it at net.core.somaxconn).
LISTEN_BACKLOG = 1024
HEALTH_TIMEOUT_SECONDS = 60.0
LOOP_SECONDS = 0.5
# Editors save in several steps; one restart for all of them.
SETTLE_SECONDS = 0.3


class StartupError(Exception):
    pass


@dataclass(frozen=True)
class Options:
    port: int
    seed: Optional[Seed] = None
    use_aws: bool = False
    reload: bool = True
    admin_token: str = DEFAULT_ADMIN_TOKEN


def say(message: str) -> None:
    print(f"devstack: {message}", flush=True)


class Supervisor:
    def __init__(self, options: Options) -> None:
        self._options = options
        self._stopping = False
        self._signal = ""
        self._moto: Optional[Moto] = None
        self._socket: Optional[socket.socket] = None
        self._provisioned: Optional[Provisioned] = None
        self._resources: Optional[StageResources] = None
        self._children: List[Child] = []
        self._api_url = f"http://{HOST}:{options.port}"
        self._state_written = False
        # What SQS would publish to CloudWatch; moto does not (only with moto).
        self._queue_metrics: Optional[QueueMetrics] = None

    # --- life cycle -----------------------------------------------------------------------

    def run(self) -> int:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, self._on_signal)
        try:
            self._start()
            if self._stopping:
                return 0
            return self._loop()
        except StartupError as exc:
            print(f"devstack: cannot start: {exc}", file=sys.stderr, flush=True)
            return 1
        finally:
            self._shutdown()

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        # Only a flag: printing from a handler can land inside another print and raise.
        self._signal = self._signal or signal.Signals(signum).name
        self._stopping = True

    def _start(self) -> None:
        self._listen()
        self._connect_aws()
        self._prepare()
        self._start_children()
        if not self._wait_healthy():
            if self._stopping:
                return
            raise StartupError("the API did not answer GET /health; see its output above")
        self._write_state()
        self._banner()
        if self._options.seed is not None:
            self._seed(self._options.seed)

    def _loop(self) -> int:
        watcher = Watcher(PROJECT_DIR) if self._options.reload else None
        while not self._stopping:
            time.sleep(LOOP_SECONDS)
            changed = watcher.changes() if watcher else []
            if changed:
                time.sleep(SETTLE_SECONDS)
                assert watcher is not None
                changed = sorted(set(changed) | set(watcher.changes()))
                self._reload(changed)
            self._publish_queue_metrics()
            failed = self._report_exits()
            if failed and not self._options.reload:
                return 1
        return 0

    def _shutdown(self) -> None:
        if self._signal:
            say(f"{self._signal}: stopping")
        # The children first: they talk to moto, and the API's socket is ours.
        for child in reversed(self._children):
            child.stop()
        if self._socket is not None:
            self._socket.close()
        if self._moto is not None:
            self._moto.stop()
        if self._state_written:  # never another stack's, as when this one found its port taken
            state.remove(self._options.port)
        if self._children or self._moto is not None:
            say("stopped")

    # --- start-up steps -------------------------------------------------------------------

    def _listen(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A port left in TIME_WAIT by a previous run is free to reuse.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, self._options.port))
        except OSError as exc:
            sock.close()
            raise StartupError(
                f"{HOST}:{self._options.port} is taken ({exc.strerror}); choose another with --port or PORT="
            ) from exc
        sock.listen(LISTEN_BACKLOG)
        self._socket = sock

    def _connect_aws(self) -> None:
        if self._options.use_aws:
            region = boto3.session.Session().region_name
            if not region:
                raise StartupError("--aws needs a region: set AWS_REGION or AWS_DEFAULT_REGION, or use a profile")
            target = os.environ.get("AWS_ENDPOINT_URL") or f"AWS, profile {os.environ.get('AWS_PROFILE', 'default')}"
            say(f"using {target} in {region}; moto is not started")
            return
        self._moto = Moto(HOST)
        endpoint = self._moto.start()
        apply_environment(os.environ, emulated_environment(os.environ, endpoint))

    def _prepare(self) -> None:
        """Creates the stage's table and queues, and stores the admin token; both are
        idempotent, so this runs again when .chalice/config.json changes."""
        resources = StageResources.for_stage(STAGE)
        try:
            self._provisioned = provision(boto3.session.Session(), resources)
            settings = StageSettings.from_env({**resources.environment(), "QUEUE_URL": self._provisioned.queue_url})
            tokens = Services(settings).store.tokens
            auth.issue_token(tokens, "local admin", "admin", token=self._options.admin_token)
        except (BotoCoreError, ClientError) as exc:
            raise StartupError(f"cannot provision the {STAGE} stage's resources: {exc}") from exc
        self._resources = resources
        if self._moto is not None:
            session = boto3.session.Session()
            names = [
                resources.queue_name,
                resources.dead_letter_queue_name,
                resources.webhook_queue_name,
                resources.webhook_dead_letter_queue_name,
            ]
            self._queue_metrics = QueueMetrics(session.client("cloudwatch"), names, session.region_name or "")
            self._publish_queue_metrics()

    def _publish_queue_metrics(self) -> None:
        if self._queue_metrics is None:
            return
        try:
            self._queue_metrics.publish_if_due(datetime.now(UTC))
        except (BotoCoreError, ClientError) as exc:  # moto is going away with the stack
            if not self._stopping:
                say(f"could not publish the queues' metrics: {exc}")

    def _child_environment(self) -> Dict[str, str]:
        assert self._resources is not None
        assert self._provisioned is not None
        return {
            **os.environ,
            **self._resources.environment(),
            "QUEUE_URL": self._provisioned.queue_url,
            "AWS_CHALICE_CLI_MODE": "true",  # as under `chalice local`
            "PYTHONUNBUFFERED": "1",
        }

    def _start_children(self) -> None:
        assert self._socket is not None
        env = self._child_environment()
        fd = self._socket.fileno()
        python = sys.executable
        self._children = [
            Child("api", [python, "-m", "devstack.api", "--fd", str(fd), "--stage", STAGE], env, PROJECT_DIR, (fd,)),
            Child("worker", [python, "-m", "devstack.worker", "--stage", STAGE], env, PROJECT_DIR),
        ]
        for child in self._children:
            child.start()

    def _wait_healthy(self, timeout: float = HEALTH_TIMEOUT_SECONDS) -> bool:
        deadline = time.monotonic() + timeout
        while not self._stopping and time.monotonic() < deadline:
            if self._children[0].exit_code() is not None:
                return False
            try:
                if requests.get(f"{self._api_url}/health", timeout=2).status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        return False

    def _write_state(self) -> None:
        assert self._provisioned is not None
        state.write(
            self._options.port,
            state.StackState(
                pid=os.getpid(),
                stage=STAGE,
                api_url=self._api_url,
                region=boto3.session.Session().region_name or "",
                queue_url=self._provisioned.queue_url,
                dead_letter_queue_url=self._provisioned.dead_letter_queue_url,
                aws_endpoint=self._moto.endpoint if self._moto else None,
            ),
        )
        self._state_written = True

    def _banner(self) -> None:
        assert self._provisioned is not None
        lines = [
            f"Metadata Manager, stage {STAGE}",
            f"  API            {self._api_url}",
            f"  admin token    {self._options.admin_token}   (Authorization: Bearer {self._options.admin_token})",
        ]
        if self._moto is not None:
            lines += [
                f"  moto endpoint  {self._moto.endpoint}",
                f"  other tools    {export_line(os.environ)}",
            ]
        else:
            lines.append(f"  AWS            {os.environ.get('AWS_ENDPOINT_URL') or 'the account of your credentials'}")
        lines += [
            f"  write queue    {self._provisioned.queue_url}",
            f"  dead letters   {self._provisioned.dead_letter_queue_url}",
            f"  webhook queue  {self._provisioned.webhook_queue_url}",
            f"  webhook DLQ    {self._provisioned.webhook_dead_letter_queue_url}",
            "  reload         " + (f"on changes to {', '.join(WATCHED)}" if self._options.reload else "off"),
            "  Ctrl-C stops everything.",
        ]
        print("\n".join(lines), flush=True)

    def _seed(self, seed: Seed) -> None:
        try:
            report = Seeder(self._api_url, self._options.admin_token).run(seed)
        except (SeedError, requests.RequestException) as exc:
            raise StartupError(f"seeding failed: {exc}") from exc
        say(report.summary())

    # --- while running --------------------------------------------------------------------

    def _reload(self, changed: List[str]) -> None:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        say(f"{shown} changed; restarting the API and the worker")
        for child in reversed(self._children):
            child.stop()
        if ".chalice/config.json" in changed:
            try:
                self._prepare()
            except (StartupError, ValueError, KeyError) as exc:
                say(f"{exc}; fix .chalice/config.json and save again")
                return
        self._start_children()
        if self._wait_healthy():
            say("reloaded")

    def _report_exits(self) -> bool:
        """Says once that a child exited by itself; True when one did."""
        failed = False
        for child in self._children:
            code = child.exit_code()
            if code is None or child.exit_reported:
                continue
            child.exit_reported = True
            failed = True
            hint = "it restarts when a watched file changes" if self._options.reload else "stopping"
            say(f"the {child.name} process exited with code {code}; {hint}")
        return failed


def admin_token_from_env() -> str:
    return os.environ.get("LOCAL_ADMIN_TOKEN") or DEFAULT_ADMIN_TOKEN


def run(port: int, seed_path: Optional[Path], use_aws: bool, reload: bool) -> int:
    try:
        seed = load_seed(seed_path) if seed_path is not None else None
    except SeedError as exc:
        print(f"devstack: {exc}", file=sys.stderr)
        return 2
    options = Options(port=port, seed=seed, use_aws=use_aws, reload=reload, admin_token=admin_token_from_env())
    return Supervisor(options).run()
