"""`python -m devstack webhook-receiver`: a webhook receiver on 127.0.0.1 that verifies
each delivery's Standard Webhooks signature with the secret the API showed, and prints
the event (one line each). It can also play a receiver that fails (`--fail-first N`
answers N deliveries with `--status`), is slow (`--delay`), or is gone (`--status 410`).

The test suite uses the same receiver (`WebhookReceiver`)."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    """One delivery as the receiver got it, and what it answered."""

    headers: Dict[str, str]
    body: str
    verified: bool
    answered: int
    event: Optional[Dict[str, Any]] = None
    at: float = field(default_factory=time.monotonic)


class WebhookReceiver:
    def __init__(
        self,
        secret: Optional[str] = None,
        port: int = 0,
        fail_first: int = 0,
        status: int = 500,
        delay: float = 0.0,
        on_event: Optional[Callable[[Dict[str, Any]], None]] = None,
        out: Optional[Callable[[str], None]] = None,
    ) -> None:
        self.secret = secret
        self.fail_first = fail_first
        self.status = status
        self.delay = delay
        self.on_event = on_event
        self.out = out
        self.received: List[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def start(self) -> WebhookReceiver:
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def events(self) -> List[Dict[str, Any]]:
        """The events of the deliveries this receiver accepted (2xx), verified."""
        with self._lock:
            return [r.event for r in self.received if r.event is not None and r.verified and r.answered < 300]

    def receive(self, headers: Dict[str, str], body: str) -> int:
        """Verifies and records one delivery; answers the status to send back."""
        verified, event = self._verify(headers, body)
        with self._lock:
            failing = len(self.received) < self.fail_first
            answered = self.status if failing else (200 if verified else 401)
            self.received.append(Received(headers, body, verified, answered, event))
        if self.delay:
            time.sleep(self.delay)
        if self.out is not None:
            self.out(_line(headers, event, verified, answered))
        if event is not None and verified and answered < 300 and self.on_event is not None:
            self.on_event(event)
        return answered

    def _verify(self, headers: Dict[str, str], body: str) -> tuple[bool, Optional[Dict[str, Any]]]:
        if self.secret is None:
            try:
                return True, json.loads(body)
            except ValueError:
                return False, None
        try:
            return True, Webhook(self.secret).verify(body, headers)
        except WebhookVerificationError:
            return False, None

    def _handler(self) -> type:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8", "replace")
                headers = {name.lower(): value for name, value in self.headers.items()}
                status = receiver.receive(headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per delivery is printed by the receiver itself

        return Handler


def _line(headers: Dict[str, str], event: Optional[Dict[str, Any]], verified: bool, answered: int) -> str:
    mark = "verified" if verified else "NOT VERIFIED (wrong --secret?)"
    shown = json.dumps(event, separators=(",", ":")) if event is not None else "(no readable event)"
    return f"{answered} {mark} webhook-id={headers.get('webhook-id', '?')} {shown}"


def serve(port: int, secret: Optional[str], fail_first: int, status: int, delay: float) -> int:
    receiver = WebhookReceiver(secret, port, fail_first, status, delay, out=lambda line: print(line, flush=True))
    receiver.start()
    print(f"devstack: webhook receiver at {receiver.url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    if secret is None:
        print("devstack: no --secret: signatures are not checked", file=sys.stderr, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0
