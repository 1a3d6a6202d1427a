"""A local stack (`python -m devstack`) run as a subprocess and driven over real HTTP:
shared by the end-to-end tests and the read benchmark."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import boto3
import requests

from devstack import state
from infra.resources import PROJECT_DIR
from tests.helpers import assert_error
from tests.helpers import wait_for as wait_for  # bench/burst.py imports it from here

START_TIMEOUT = 60.0
# Long enough for any answer of the local server; a server that waits for bytes that
# never come fails the test instead of hanging it.
RAW_TIMEOUT = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def children_of(pid: int) -> List[int]:
    command = ["ps", "-A", "-o", "pid=,ppid="]  # POSIX ps, as on Linux and macOS
    listing = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    pairs = [line.split() for line in listing.splitlines() if line.strip()]
    return [int(child) for child, parent in pairs if int(parent) == pid]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@dataclass
class LocalStack:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: Dict[str, str]
    info: Optional[state.StackState] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_output(self, text: str, timeout: float = START_TIMEOUT, count: int = 1) -> None:
        def seen() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"the stack exited ({self.process.returncode}):\n{self.output()}")
            return self.output().count(text) >= count

        wait_for(seen, timeout, repr(text))

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def aws(self, service: str) -> Any:
        assert self.info is not None
        assert self.info.aws_endpoint is not None
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.info.aws_endpoint,
            region_name=self.info.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextlib.contextmanager
def running_stack(folder: Path, admin_token: str, seed: Optional[str] = None) -> Iterator[LocalStack]:
    """Starts `python -m devstack` on a free port, waits until it is ready (seeded, when a
    seed file is given), and stops it on the way out. Logs and state go into `folder`."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env.update(LOCAL_ADMIN_TOKEN=admin_token, DEVSTACK_STATE_DIR=str(folder), PYTHONUNBUFFERED="1")
    env.pop("PORT", None)
    port = free_port()
    log_path = folder / "stack.log"
    command = [sys.executable, "-m", "devstack", "--port", str(port), *(["--seed", seed] if seed else [])]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    local = LocalStack(process, port, log_path, env)
    try:
        local.wait_output("devstack: seeded" if seed else "Ctrl-C stops everything.")
        local.info = state.read(port, folder)
        yield local
    finally:
        local.stop()


class Http:
    """The API of a running stack, with a token; writes wait for the worker to apply them."""

    def __init__(self, stack: LocalStack, token: str) -> None:
        self.base = stack.url
        self.token = token

    def request(self, method: str, path: str, token: Optional[str] = "", **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        chosen = self.token if token == "" else token
        if chosen is not None:
            headers["Authorization"] = f"Bearer {chosen}"
        return requests.request(method, self.base + path, headers=headers, timeout=10, **kwargs)

    def accepted(self, method: str, path: str, body: Any, **kwargs: Any) -> Dict[str, Any]:
        response = self.request(method, path, json=body, **kwargs)
        assert response.status_code == 202, response.text
        assert response.headers["Location"] == f"/operations/{response.json()['operationId']}"
        result: Dict[str, Any] = response.json()
        return result

    def operation(self, operation_id: str, timeout: float = 20.0) -> Dict[str, Any]:
        """Polls until the worker has applied the operation (or failed it)."""

        def finished() -> Optional[Dict[str, Any]]:
            response = self.request("GET", f"/operations/{operation_id}")
            assert response.status_code == 200, response.text
            body: Dict[str, Any] = response.json()
            return body if body["status"] != "pending" else None

        result: Dict[str, Any] = wait_for(finished, timeout, f"operation {operation_id}", interval=0.1)
        return result

    def applied(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Dict[str, Any]:
        operation = self.operation(self.accepted(method, path, body, **kwargs)["operationId"])
        assert operation["status"] == "succeeded", operation
        return operation


def mmctl_token(stack: LocalStack, scope: str, name: str = "e2e") -> str:
    """A token made the way a developer would: mmctl, pointed at the printed moto endpoint."""
    assert stack.info is not None
    env = {
        **stack.env,
        "AWS_ENDPOINT_URL": str(stack.info.aws_endpoint),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": stack.info.region,
    }
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "mmctl", "tokens", "create", "--name", name, "--scope", scope],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return str(json.loads(result.stdout)["token"])


@dataclass
class Answer:
    status: int
    headers: Dict[str, str]
    body: bytes
    # Whatever the server wrote after the first answer: a second answer means it read the
    # first request's leftovers as a request of their own.
    rest: bytes

    def json(self) -> Dict[str, Any]:
        body: Dict[str, Any] = json.loads(self.body)
        return body

    def contract_error(self, status: int, code: str) -> Dict[str, Any]:
        """The contract's error body (`assert_error`), as the only answer on the connection."""
        body = assert_error({"statusCode": self.status, "headers": self.headers, "body": self.body}, status, code)
        assert self.rest == b"", f"a second answer followed: {self.rest!r}"
        return body


def exchange(port: int, *parts: bytes, pause: float = 0.0, shut_write: bool = False) -> Answer:
    """Sends `parts` over one connection, raw (with `pause` seconds between them), then
    reads until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=RAW_TIMEOUT) as conn:
        for index, part in enumerate(parts):
            if index and pause:
                time.sleep(pause)
            conn.sendall(part)
        if shut_write:
            conn.shutdown(socket.SHUT_WR)
        received: List[bytes] = []
        while True:
            try:
                data = conn.recv(65536)
            except TimeoutError:
                raise AssertionError(f"no end of the answer in {RAW_TIMEOUT}s: {b''.join(received)!r}") from None
            except ConnectionResetError:
                raise AssertionError(f"connection reset after {b''.join(received)!r}") from None
            if not data:
                break
            received.append(data)
    return parse_answer(b"".join(received))


def parse_answer(raw: bytes) -> Answer:
    """The first HTTP answer in `raw`, and whatever follows it."""
    head, separator, rest = raw.partition(b"\r\n\r\n")
    assert separator, f"the connection was dropped without an answer: {raw!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers: Dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    return Answer(int(status_line.split()[1]), headers, rest[:length], rest[length:])


def raw_request(method: str, path: str, headers: List[Tuple[str, str]]) -> bytes:
    """A request line and headers, as sent: repeated, odd or malformed as given."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def chunked(*chunks: bytes) -> bytes:
    """A body in chunked transfer coding, last chunk included."""
    return b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"
