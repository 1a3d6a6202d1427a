"""One HTTP POST to a webhook's receiver, at the address the SSRF guard checked: the
connection goes to that address (never resolving the name again), TLS and `Host` name
the URL's host, no redirect is followed (a 3xx is a failed attempt), the timeouts are
short, and only the start of the answer is read."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Dict, Optional, Protocol

from chalicelib.events.destinations import Destination

CONNECT_TIMEOUT_SECONDS = 3.0
# Each read of the answer; a receiver that takes longer to answer has failed this attempt.
READ_TIMEOUT_SECONDS = 5.0
# What the log keeps of an answer.
ANSWER_CHARS = 256
USER_AGENT = "metadata-manager-webhooks/1"


@dataclass(frozen=True)
class Reply:
    """The receiver's answer (`status` None: there was none) and how long it took."""

    status: Optional[int]
    duration_ms: int
    body: str = ""
    error: Optional[str] = None


class Poster(Protocol):
    def post(self, destination: Destination, body: bytes, headers: Dict[str, str]) -> Reply: ...


class _Pinned(http.client.HTTPConnection):
    """An HTTP connection to one checked address, naming the URL's host."""

    address = ""
    connect_timeout = CONNECT_TIMEOUT_SECONDS

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.connect_timeout)
        self.sock.settimeout(self.timeout)


class _PinnedTLS(http.client.HTTPSConnection):
    address = ""
    connect_timeout = CONNECT_TIMEOUT_SECONDS

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.connect_timeout)
        raw.settimeout(self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


class PinnedPoster:
    def __init__(
        self,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        context: Optional[ssl.SSLContext] = None,
    ) -> None:
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._context = context

    def post(self, destination: Destination, body: bytes, headers: Dict[str, str]) -> Reply:
        started = time.monotonic()
        problem = "no address to connect to"
        for address in destination.addresses:
            connection = self._connection(destination, address)
            try:
                connection.connect()
            except OSError as exc:  # refused, unreachable, timed out: the next address may answer
                problem = f"could not connect to {address}: {_reason(exc)}"
                connection.close()
                continue
            try:
                connection.request("POST", destination.target, body=body, headers=_headers(headers))
                answer = connection.getresponse()
                text = answer.read(ANSWER_CHARS * 4).decode("utf-8", "replace")[:ANSWER_CHARS]
                return Reply(answer.status, _since(started), text)
            except (OSError, http.client.HTTPException) as exc:
                return Reply(None, _since(started), error=f"no answer from {address}: {_reason(exc)}")
            finally:
                connection.close()
        return Reply(None, _since(started), error=problem)

    def _connection(self, destination: Destination, address: str) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if destination.scheme == "https":
            context = self._context or ssl.create_default_context()
            connection = _PinnedTLS(destination.host, destination.port, timeout=self._read_timeout, context=context)
        else:
            connection = _Pinned(destination.host, destination.port, timeout=self._read_timeout)
        connection.address = address
        connection.connect_timeout = self._connect_timeout
        return connection


def _headers(signed: Dict[str, str]) -> Dict[str, str]:
    return {**signed, "Content-Type": "application/json", "User-Agent": USER_AGENT}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    return str(exc) or type(exc).__name__


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
